//! (not written yet — blocked) The `aliexpress` lane: `aliexpress.affiliate.product.query` on
//! `https://api-sg.aliexpress.com/sync`. Requests must be signed with `sign_method=sha256`:
//! `sign` = upper-case hex HMAC-SHA256, keyed with the app secret, over the parameters (all but
//! `sign`) sorted by key and concatenated as `key1value1key2value2…` (for `/`-style API paths the
//! path is prefixed). This crate has no HMAC/SHA-256 dependency (`hmac`, `sha2`), so the lane waits
//! for one to be added to `Cargo.toml`.
