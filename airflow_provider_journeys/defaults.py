"""Default argument values shared by the hook and the operators.

A module of plain constants and nothing else: the operators module imports it at DAG parse time.
"""

DEFAULT_CONN_ID = "airship_default"
DEFAULT_MAX_RETRY_WAIT_SECONDS = 300.0
DEFAULT_DEFER_WAITS_LONGER_THAN_SECONDS = 60.0
# Airship's limit on the ids in one audience array; the schema enforces it, this is only the default size.
MAX_IDS_PER_AUDIENCE = 1000
DEFAULT_MAX_CONCURRENCY = 4
# More parallel requests than this would only queue on Airship's rate limit (and on the pool).
MAX_CONCURRENCY = 16
