//! modaudit: audits automated content moderation for over-removal of protected
//! speech, disparities between languages and groups, and notice and appeal.
//!
//! The library is organised as the flow of an audit: [`scenario`] and [`corpus`]
//! make a validated [`scenario::Plan`]; [`run`] asks a [`moderator`] about every
//! case and records each [`decision`] in the [`journal`]; [`analysis`] turns
//! decisions into statistics; [`report`] renders them; [`gates`] decide the exit
//! code. [`run::run_with_moderator`] audits a moderation system that lives in the
//! caller's own program.
//!
//! Dependencies run one way: [`decision`], [`journal`], [`diagnostic`],
//! [`hash`], [`draw`], [`input`], [`fsutil`], [`plural`], [`shard`], [`sym`] and
//! [`case_text`] at the bottom;
//! then [`corpus`], [`scenario`] and [`moderator`]; then [`manifest`],
//! [`analysis`] and the appeal metrics; then [`report`] and [`schema`]; then
//! [`run`]; then [`cli`].

#![forbid(unsafe_code)]

pub mod analysis;
pub mod appeal;
pub mod cache;
pub mod case_text;
pub mod cli;
pub mod corpus;
pub mod csv_record;
pub mod decision;
pub mod diagnostic;
pub mod draw;
pub mod error;
pub mod exit;
pub mod fsutil;
pub mod gates;
pub mod hash;
pub mod input;
pub mod journal;
pub mod manifest;
pub mod moderator;
pub mod plural;
pub mod report;
pub mod run;
pub mod scenario;
pub mod schema;
pub mod shard;
pub mod statements;
pub mod sym;
pub mod visible;
