//! obspec runtime: the pieces the generated emitters sit on.
