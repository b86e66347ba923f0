-- Keeping the library statistics and facet views current.

/* refresh_views: refreshes the library statistics and facet views without blocking readers
   (CONCURRENTLY), and the search word statistics when the library changed by more than a tenth
   (midi._search_words_refresh); run at the end of import and analysis. SECURITY DEFINER because only the owner may
   refresh a materialized view; it takes no input. Returns the number of views refreshed. */
CREATE OR REPLACE FUNCTION midi.refresh_views() RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.library_stats;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.manufacturer_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.collection_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.key_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.category_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.bpm_bucket_counts;
    REFRESH MATERIALIZED VIEW CONCURRENTLY midi.tag_counts;
    -- the word statistics of the search strategy, re-sampled when the library changed by a tenth
    PERFORM midi._search_words_refresh();
    RETURN 7;
END;
$$;
COMMENT ON FUNCTION midi.refresh_views() IS
    'Refreshes library_stats and the facet views (manufacturer, collection, key, category, bpm bucket, tag) concurrently, and the search word statistics when due';
REVOKE ALL ON FUNCTION midi.refresh_views() FROM PUBLIC;
