"""Model health after deployment: live error on newly labeled rows, drift of what is scored, and the evidence that
justifies a retrain. Pure functions on frames; the Dagster assets and checks only wire them."""
