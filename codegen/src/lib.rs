//! obspec's spec compiler: load → validate → render.
