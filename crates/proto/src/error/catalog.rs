//! Descriptions, handling advice and where each code arises (filled in by the catalog work).
