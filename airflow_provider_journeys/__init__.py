"""Apache Airflow provider for Airship's Journeys API.

Kept import-free: every Airflow component imports provider packages at start-up.
"""

__version__ = "0.1.0"
