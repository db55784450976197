-- One audit entry; the table is append-only (a trigger refuses UPDATE and DELETE).
INSERT INTO audit_log (account_id, username, role, action, method, path, object_type,
                       object_ids, client, status)
VALUES (:a, :u, :r, :act, :m, :p, :ot, :oi, :c, :s)
