//! PC/SC backend (to be filled in next).
