//! The pxe-pilot command-line client (work in progress).
#![forbid(unsafe_code)]
