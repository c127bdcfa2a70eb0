"""Run sushy-emulator (sushy-tools 2.2.0) on 127.0.0.1 with a port chosen by the kernel.

Usage: python sushy_launch.py CONFIG_FILE PORT_FILE REQUEST_LOG

- Loads CONFIG_FILE like `sushy-emulator --config CONFIG_FILE` does (fake driver, auth file,
  SSL cert/key, state dir all come from it).
- Binds 127.0.0.1:0 (no race between choosing and binding a port), then writes the chosen
  port to PORT_FILE (atomically, via rename) once the socket is listening.
- Wraps the WSGI app so that every request's method, path, content type, Authorization user
  (never the password) and body are appended as one JSON line to REQUEST_LOG, *before*
  authentication: tests read that log to check what a client really sent (sushy's own
  GET answers BootSourceOverrideEnabled "Continuous" whatever was PATCHed).
"""
import base64
import io
import json
import logging
import os
import ssl
import sys
import threading
import time

from werkzeug.serving import make_server

from sushy_tools.emulator import main as sushy_main


class RequestLog:
    def __init__(self, app, path):
        self.app = app
        self.path = path
        self.lock = threading.Lock()

    def __call__(self, env, start_response):
        try:
            length = int(env.get('CONTENT_LENGTH') or 0)
        except ValueError:
            length = 0
        body = env['wsgi.input'].read(length) if length > 0 else b''
        env['wsgi.input'] = io.BytesIO(body)
        user = None
        auth = env.get('HTTP_AUTHORIZATION', '')
        if auth.lower().startswith('basic '):
            try:
                user = base64.b64decode(auth.split(None, 1)[1]).split(b':', 1)[0].decode()
            except Exception:  # noqa: BLE001 - log what we can
                user = '<undecodable>'
        status_box = {}

        def sr(status, headers, exc_info=None):
            status_box['status'] = int(status.split()[0])
            return start_response(status, headers, exc_info)

        result = self.app(env, sr)
        try:
            text = body.decode('utf-8')
            try:
                parsed = json.loads(text) if text else None
            except ValueError:
                parsed = None
        except UnicodeDecodeError:
            text, parsed = repr(body), None
        entry = {
            'time': round(time.time(), 3),
            'method': env.get('REQUEST_METHOD'),
            'path': env.get('PATH_INFO'),
            'content_type': env.get('CONTENT_TYPE'),
            'user': user,
            'status': status_box.get('status'),
            'body': text,
            'json': parsed,
        }
        with self.lock, open(self.path, 'a') as f:
            f.write(json.dumps(entry) + '\n')
        return result


def main():
    config_file, port_file, request_log = sys.argv[1:4]
    logging.basicConfig(level=logging.INFO,
                        format='%(asctime)s %(name)s %(levelname)s %(message)s')
    app = sushy_main.app
    app.configure(config_file=config_file)
    # The fake driver (same as `sushy-emulator --fake`) unless the config names a libvirt URI.
    if not app.config.get('SUSHY_EMULATOR_LIBVIRT_URI'):
        app.config.setdefault('SUSHY_EMULATOR_FAKE_DRIVER', True)

    ctx = None
    cert = app.config.get('SUSHY_EMULATOR_SSL_CERT')
    key = app.config.get('SUSHY_EMULATOR_SSL_KEY')
    if cert and key:
        # sushy-emulator itself uses ssl.PROTOCOL_TLSv1_2 (TLS 1.2 only); do the same.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLSv1_2)
        ctx.load_cert_chain(cert, key)

    # Logging middleware outside the auth middleware (configure() put that in wsgi_app).
    app.wsgi_app = RequestLog(app.wsgi_app, request_log)
    host = app.config.get('SUSHY_EMULATOR_LISTEN_IP', '127.0.0.1')
    srv = make_server(host, 0, app, threaded=True, ssl_context=ctx)
    tmp = port_file + '.tmp'
    with open(tmp, 'w') as f:
        f.write(str(srv.server_port))
    os.rename(tmp, port_file)
    logging.info('listening on %s:%d (%s)', host, srv.server_port,
                 'https' if ctx else 'http')
    srv.serve_forever()


if __name__ == '__main__':
    main()
