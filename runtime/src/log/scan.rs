//! scanner (todo)
