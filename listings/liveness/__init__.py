"""Live listings (issue 18): employers reconfirm published jobs every 14 days or they pause at 21, closing and
expiry ask why the job ended, and admins see listings at risk of being ghost jobs."""
