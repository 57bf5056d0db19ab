//! Every kind of secret tessera keeps or checks, one file each: the opaque token format and
//! its hashes, passwords, TOTP seeds, the server secret and the keys derived from it, and
//! session JWTs.

pub mod password;
pub mod secret_hash;
pub mod server_keys;
pub mod session_jwt;
pub mod token_format;
pub mod totp;
