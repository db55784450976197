-- The account that last fed the case back (核查: another one verifies it).
SELECT account_id FROM report_event WHERE report_id = :id AND action = 'resolve'
ORDER BY at DESC, id DESC LIMIT 1
