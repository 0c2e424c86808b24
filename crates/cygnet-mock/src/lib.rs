//! cygnet-mock
