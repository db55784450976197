-- Whether a case has had a given step (a 大家事 is fed back only after 村民议事).
SELECT EXISTS (SELECT 1 FROM report_event WHERE report_id = :id AND action = :action)
