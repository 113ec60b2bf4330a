-- How many unreviewed check-ins each clinic has at each level, kept in step by the transactions that
-- add and review check-ins, so the review queue's counts cost one indexed read however long it is.
CREATE TABLE review_queue_counts (
    clinic_id TEXT NOT NULL REFERENCES clinics (id),
    level_rank INTEGER NOT NULL,
    unreviewed BIGINT NOT NULL,
    PRIMARY KEY (clinic_id, level_rank)
);
INSERT INTO review_queue_counts (clinic_id, level_rank, unreviewed)
SELECT clinics.id, ranks.level_rank,
       (SELECT COUNT(*) FROM check_ins
        WHERE check_ins.clinic_id = clinics.id AND check_ins.level_rank = ranks.level_rank
          AND check_ins.reviewed_at IS NULL)
FROM clinics CROSS JOIN (SELECT 0 AS level_rank UNION ALL SELECT 1 UNION ALL SELECT 2) AS ranks;
