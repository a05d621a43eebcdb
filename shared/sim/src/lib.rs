//! `otto-sim`: a seeded, deterministic, closed-loop simulated shop for `otto simulate`.
//!
//! * `truth` — each variant's hidden shoppers and ad auction, drawn before any policy runs;
//! * `demand` — the price, season and auction curves;
//! * `shop` / `day` / `merchant` — the shop's state, its days (noise, attribution lag, stock)
//!   and a seeded merchant's outside edits;
//! * `reports` / `ports` — what it reports, through Otto's vendor ports;
//! * `ledger` — revenue, COGS, ad spend, discount cost → contribution profit, per day;
//! * `writes` — the shop's own log of every change and who made it;
//! * `naive` — the usual ad-rule recipe, a baseline policy;
//! * `reverted` / `precision` — the share of moves later reversed, and how often a policy's
//!   loser verdicts agree with the truth;
//! * `invariants` — the checks run over Otto's audit rows and the write log.

pub mod day;
pub mod demand;
pub mod invariants;
pub mod ledger;
mod merchant;
pub mod naive;
pub mod ports;
pub mod precision;
pub mod reports;
pub mod reverted;
pub mod rng;
pub mod shop;
pub mod truth;
pub mod writes;

pub use ledger::{DayLedger, LedgerTotals};
pub use shop::SimShop;
pub use truth::ShopSpec;
pub use writes::{Actor, Change, ShopWrite};
