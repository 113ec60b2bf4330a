-- A check-in's answers to its protocol's questions, as a JSON object of sign key to an integer
-- score or a boolean (the questions are protocol data since protocol v2, so a clinic can add a
-- sign without a release). The core signs' columns stay filled for older readers; check-ins
-- stored before this column have NULL here and are read from those columns. `unanswered`: the
-- optional questions of that day the patient left unanswered, a JSON array of sign keys.
ALTER TABLE check_ins ADD COLUMN answers TEXT;
ALTER TABLE check_ins ADD COLUMN unanswered TEXT NOT NULL DEFAULT '[]';
