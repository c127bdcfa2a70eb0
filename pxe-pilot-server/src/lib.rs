//! The pxe-pilot HTTP service (work in progress).
#![forbid(unsafe_code)]
