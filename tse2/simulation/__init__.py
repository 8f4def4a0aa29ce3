"""Stage 3: reverberant two-speaker mixtures (rooms and RIRs, overlap layout, SIR, target choice)."""
