//! The national document exchange connector (VPCP axis): in progress on this branch.
