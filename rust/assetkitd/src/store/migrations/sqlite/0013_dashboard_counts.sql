-- assetkit inventory, version 13: the dashboard's fleet make-up (model, memory, cores) and
-- placement (business unit, IDC) kept as the status counts are (version 5), not counted by
-- scanning a million rows on every dashboard load.
--
-- Every insert, delete, or change of one of these columns appends deltas (-1 for the old
-- values, +1 for the new); a count is the sum of the deltas of its values, and maintenance folds
-- them each minute into one row per distinct combination (a few hundred in a large fleet).
CREATE TABLE makeup_counts (
    id               INTEGER PRIMARY KEY,
    manufacturer     TEXT,
    model            TEXT,
    memory_bytes     INTEGER,
    cpu_cores        INTEGER,
    business_unit_id INTEGER,
    idc_id           INTEGER,
    delta            INTEGER NOT NULL
);
INSERT INTO makeup_counts (manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, delta)
    SELECT manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, COUNT(*) FROM assets
    GROUP BY manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id;
CREATE TRIGGER makeup_counts_insert AFTER INSERT ON assets BEGIN
    INSERT INTO makeup_counts (manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, delta)
        VALUES (new.manufacturer, new.model, new.memory_bytes, new.cpu_cores, new.business_unit_id, new.idc_id, 1);
END;
CREATE TRIGGER makeup_counts_delete AFTER DELETE ON assets BEGIN
    INSERT INTO makeup_counts (manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, delta)
        VALUES (old.manufacturer, old.model, old.memory_bytes, old.cpu_cores, old.business_unit_id, old.idc_id, -1);
END;
CREATE TRIGGER makeup_counts_update
    AFTER UPDATE OF manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id ON assets
    WHEN old.manufacturer IS NOT new.manufacturer OR old.model IS NOT new.model
        OR old.memory_bytes IS NOT new.memory_bytes OR old.cpu_cores IS NOT new.cpu_cores
        OR old.business_unit_id IS NOT new.business_unit_id OR old.idc_id IS NOT new.idc_id
BEGIN
    INSERT INTO makeup_counts (manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, delta)
        VALUES (old.manufacturer, old.model, old.memory_bytes, old.cpu_cores, old.business_unit_id, old.idc_id, -1);
    INSERT INTO makeup_counts (manufacturer, model, memory_bytes, cpu_cores, business_unit_id, idc_id, delta)
        VALUES (new.manufacturer, new.model, new.memory_bytes, new.cpu_cores, new.business_unit_id, new.idc_id, 1);
END;

-- The dashboard's changes chart: change events per UTC day and component, kept the same way
-- (a row of `changes` inserted or deleted appends +1 or -1), so the chart reads a few hundred
-- rows instead of counting a month of events.
CREATE TABLE change_day_counts (
    id        INTEGER PRIMARY KEY,
    day       INTEGER NOT NULL,
    component TEXT NOT NULL,
    delta     INTEGER NOT NULL
);
INSERT INTO change_day_counts (day, component, delta) SELECT at / 86400, component, COUNT(*) FROM changes GROUP BY 1, 2;
CREATE INDEX change_day_counts_day ON change_day_counts (day);
CREATE TRIGGER change_day_counts_insert AFTER INSERT ON changes BEGIN
    INSERT INTO change_day_counts (day, component, delta) VALUES (new.at / 86400, new.component, 1);
END;
CREATE TRIGGER change_day_counts_delete AFTER DELETE ON changes BEGIN
    INSERT INTO change_day_counts (day, component, delta) VALUES (old.at / 86400, old.component, -1);
END;
CREATE TRIGGER change_day_counts_update AFTER UPDATE OF at, component ON changes
    WHEN old.at / 86400 <> new.at / 86400 OR old.component <> new.component
BEGIN
    INSERT INTO change_day_counts (day, component, delta) VALUES (old.at / 86400, old.component, -1);
    INSERT INTO change_day_counts (day, component, delta) VALUES (new.at / 86400, new.component, 1);
END;
