DROP TABLE erasure_requests;
