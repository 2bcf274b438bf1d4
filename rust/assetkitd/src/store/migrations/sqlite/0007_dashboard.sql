-- assetkit inventory, version 7: the dashboard's fleet make-up (assets by manufacturer and
-- model, memory and core histograms) read from this index alone instead of the whole table.
CREATE INDEX assets_makeup ON assets (manufacturer, model, memory_bytes, cpu_cores);
