DROP TABLE review_queue_counts;
