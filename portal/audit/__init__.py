"""The audit trail: a hash-chained log of what was done, and the resident's access record
(情報提供等記録), who opened their requests and documents. Both are append-only."""
