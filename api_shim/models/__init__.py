"""Request and response models (re-exported)."""
from .requests import (QUEUE_NAME_MARK, QueueName, Priority, Resolution, SIGNATURE_PATTERN,
                       NEW_JOB_ID_PATTERN, NOT_BLANK, SafeId, NewJobId, Signature, MAX_PAGE, MAX_OFFSET, MAX_BULK_IDS,
                       parse_timestamp, JsonInt, Timestamp, SinceEpoch, RunAt, StrictModel, NewJobBase, DeadLetterFilterBody,
                       BulkRequest, RateLimitBody)
from .responses import (Open, Page, Items, Waiting, Window, MinutePoint, Sla, ControlState, QueueMetrics,
                        Totals, AllMetrics, QueueControl, JobOptions, JobDetails, JobSummary, CreatedJob,
                        JobAction, DeadLetterEntry, DeadLetterDetails, EntryAction, BulkResult, HistoryRow,
                        History, FailureGroup, AuditEntry, QueueHealth, Health, AlertEntry, FiringAlert)

__all__ = ["QUEUE_NAME_MARK", "QueueName", "Priority", "Resolution", "SIGNATURE_PATTERN",
           "NEW_JOB_ID_PATTERN", "NOT_BLANK", "SafeId", "NewJobId", "Signature", "MAX_PAGE", "MAX_OFFSET",
           "MAX_BULK_IDS", "parse_timestamp", "JsonInt", "Timestamp", "SinceEpoch", "RunAt", "StrictModel", "NewJobBase",
           "DeadLetterFilterBody", "BulkRequest", "RateLimitBody", "Open", "Page", "Items", "Waiting",
           "Window", "MinutePoint", "Sla", "ControlState", "QueueMetrics", "Totals", "AllMetrics",
           "QueueControl", "JobOptions", "JobDetails", "JobSummary", "CreatedJob", "JobAction",
           "DeadLetterEntry", "DeadLetterDetails", "EntryAction", "BulkResult", "HistoryRow", "History",
           "FailureGroup", "AuditEntry", "QueueHealth", "Health", "AlertEntry", "FiringAlert"]
