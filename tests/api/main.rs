//! One integration binary: every test starts the real server on 127.0.0.1:0 over its own
//! temporary SQLite file and calls it through the generated clients.

mod bad_input;
mod cache;
mod callers;
mod counting_store;
mod discovery;
mod helpers;
mod lifecycle;
mod permissions;
mod process;
mod revoke;
