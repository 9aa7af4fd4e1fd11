"""The tables of the results database (DuckDB), created when it is opened.

``docs/formats.md`` documents each table.
"""

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS documents (
    document_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    format VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    encoding VARCHAR,
    metadata JSON,
    first_run VARCHAR,
    PRIMARY KEY (document_id, content_hash)
);
CREATE TABLE IF NOT EXISTS segments (
    content_hash VARCHAR NOT NULL,
    settings_hash VARCHAR NOT NULL,
    segment_id VARCHAR NOT NULL,
    document_id VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    speaker VARCHAR,
    role VARCHAR NOT NULL,
    start BIGINT NOT NULL,
    "end" BIGINT NOT NULL,
    text VARCHAR NOT NULL,
    question VARCHAR,
    turn_index INTEGER NOT NULL,
    PRIMARY KEY (content_hash, settings_hash, segment_id)
);
CREATE TABLE IF NOT EXISTS embeddings (
    model_id VARCHAR NOT NULL,
    text_hash VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL,
    PRIMARY KEY (model_id, text_hash)
);
CREATE TABLE IF NOT EXISTS identifier_checks (
    check_key VARCHAR PRIMARY KEY,
    findings JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    status VARCHAR,
    corpus VARCHAR,
    out_dir VARCHAR,
    config_hash VARCHAR,
    n_documents INTEGER,
    n_segments INTEGER,
    n_quarantined INTEGER,
    summary JSON
);
CREATE TABLE IF NOT EXISTS run_documents (
    run_id VARCHAR NOT NULL,
    document_id VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    PRIMARY KEY (run_id, document_id)
);
"""
