//! cygnet-hyper
