//! cygnet
