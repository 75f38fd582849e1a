//! Glass emulator
