{#-
  SQL that differs between warehouses lives here, never copied into models.
  Each macro has the DuckDB form (the default target) and the PostgreSQL /
  Redshift form, chosen by target.type. docs/analytics.md lists them.
-#}

{#- The event date of a silver row: the date of txn_ts in the pipeline's
    time zone, as clean partitioned it. On DuckDB it comes from the lake's
    Hive partition columns (year=YYYY/month=MM/day=DD), so no model needs
    the zone; the warehouse table `txnflow publish` loads has no partition
    columns, so there it is computed from txn_ts (TIMESTAMPTZ) in
    project_timezone (txnflow.yml's timezone). -#}
{%- macro event_date_from_partition() -%}
{%- if target.type == 'duckdb' -%}
MAKE_DATE(CAST(year AS INTEGER), CAST(month AS INTEGER), CAST(day AS INTEGER))
{%- elif target.type == 'redshift' -%}
CAST(CONVERT_TIMEZONE('{{ project_timezone }}', txn_ts) AS DATE)
{%- else -%}
CAST(txn_ts AT TIME ZONE '{{ project_timezone }}' AS DATE)
{%- endif -%}
{%- endmacro %}

{#- A DATE literal from 'YYYY-MM-DD' text. -#}
{%- macro date_literal(text) -%}
DATE '{{ text }}'
{%- endmacro %}

{#- Whole days from START_DATE to END_DATE (END - START). -#}
{%- macro days_between(start_date, end_date) -%}
{%- if target.type == 'duckdb' -%}
DATE_DIFF('day', {{ start_date }}, {{ end_date }})
{%- elif target.type == 'redshift' -%}
DATEDIFF(day, {{ start_date }}, {{ end_date }})
{%- else -%}
({{ end_date }} - {{ start_date }})
{%- endif -%}
{%- endmacro %}

{#- DATE_EXPR plus N days, as a DATE. -#}
{%- macro add_days(date_expr, n) -%}
{%- if target.type == 'duckdb' -%}
CAST({{ date_expr }} + TO_DAYS(CAST({{ n }} AS INTEGER)) AS DATE)
{%- elif target.type == 'redshift' -%}
CAST(DATEADD(day, {{ n }}, {{ date_expr }}) AS DATE)
{%- else -%}
({{ date_expr }} + ({{ n }}))
{%- endif -%}
{%- endmacro %}

{#- An interval of N minutes, for window frames over timestamps. -#}
{%- macro interval_minutes(n) -%}
{%- if target.type == 'duckdb' -%}
INTERVAL {{ n }} MINUTE
{%- else -%}
INTERVAL '{{ n }} minutes'
{%- endif -%}
{%- endmacro %}

{#- A count threshold for a window that is expected to hold MU events
    (a numeric expression): at least FLOOR, and SIGMAS standard deviations
    of a Poisson count above MU, rounded up. An integer expression. -#}
{%- macro poisson_threshold(mu, floor, sigmas) -%}
CAST(GREATEST({{ floor }}, CEIL(({{ mu }}) + {{ sigmas }} * SQRT({{ mu }}))) AS INTEGER)
{%- endmacro %}

{#- The median of a numeric expression (an aggregate), as a DOUBLE
    PRECISION interpolated between the two middle values of an even count
    (DuckDB's MEDIAN of a DECIMAL would round to the DECIMAL's scale;
    PERCENTILE_CONT works in double precision). -#}
{%- macro median(expr) -%}
{%- if target.type == 'duckdb' -%}
MEDIAN(CAST({{ expr }} AS DOUBLE PRECISION))
{%- else -%}
PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY {{ expr }})
{%- endif -%}
{%- endmacro %}

{#- An amount converted to whole won: AMOUNT x RATE rounded half away from
    zero to 0 digits (both DECIMAL, so the product is exact). -#}
{%- macro to_won(amount, rate) -%}
CAST(ROUND(CAST({{ amount }} AS DECIMAL(18,2)) * CAST({{ rate }} AS DECIMAL(18,4)), 0) AS DECIMAL(18,0))
{%- endmacro %}

{#- Rank-based quintile score in 1..5 where equal values get equal scores:
    1 + floor(5 * (rank - 1) / n), rank = RANK() (ties share the lowest
    rank) ordered so that "better" values come last (exact for any n below
    2^50: the quotient is a correctly rounded double, never rounded up to the
    next integer). NTILE is not used: it splits ties across buckets. -#}
{%- macro tie_aware_quintile(order_by) -%}
(1 + CAST(FLOOR(5.0 * (RANK() OVER (ORDER BY {{ order_by }}) - 1) / COUNT(*) OVER ()) AS INTEGER))
{%- endmacro %}

{#- "COL IN (DATE 'd1', DATE 'd2', ...)" for a list of 'YYYY-MM-DD' texts
    (the orchestrator's var('dates')); "FALSE" for an empty list. -#}
{%- macro date_in_list(col, dates) -%}
{%- if dates | length == 0 -%}
FALSE
{%- else -%}
{{ col }} IN ({% for d in dates %}{{ date_literal(d) }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{%- endmacro %}

{#- A stand-in for a text key (EXPR) where rows are only grouped by it, as
    a window's partition: on DuckDB its 64-bit hash, an integer, so the
    sort of a window carries 8 bytes a row instead of the text (the card
    rules' windows over 30.6 M attempts: 7.3-8.2 s against 11.9-16.0 s of
    wall; decision 1801, nineteenth round). Two values with one hash would
    share a partition: the singular test assert_card_keys_distinct fails
    the build if two cards ever do. PostgreSQL and Redshift keep EXPR. -#}
{%- macro window_key(expr) -%}
{%- if target.type == 'duckdb' -%}
hash({{ expr }})
{%- else -%}
{{ expr }}
{%- endif -%}
{%- endmacro %}

{#- "EXPR IN (QUERY)" as a filter. On DuckDB it is written "(EXPR IN
    (QUERY)) IS TRUE": a mark join, whose hash table is always QUERY's rows,
    where a bare IN is a semi join whose build side DuckDB picks by its
    estimates (a view over the lake is estimated from its first file: it
    hashed the lake's side; decision 1503). The same rows: a filter keeps
    only rows where the IN is true. PostgreSQL and Redshift keep the plain
    form. -#}
{%- macro in_set(expr, query) -%}
{%- if target.type == 'duckdb' -%}
({{ expr }} IN ({{ query }})) IS TRUE
{%- else -%}
{{ expr }} IN ({{ query }})
{%- endif -%}
{%- endmacro %}

{#- A timestamp column as a plain TIMESTAMP holding the UTC wall clock,
    whether the lake stores it as an instant (Parquet isAdjustedToUTC, read
    as TIMESTAMPTZ) or as a naive UTC timestamp, and whatever the session's
    TimeZone setting is (a cast between the two would apply it). The
    PostgreSQL/Redshift adapter sets its session to UTC, so a cast is the
    UTC wall clock there. -#}
{%- macro utc_timestamp(col) -%}
{%- if target.type == 'duckdb' -%}
MAKE_TIMESTAMP(EPOCH_US({{ col }}))
{%- else -%}
CAST({{ col }} AS TIMESTAMP)
{%- endif -%}
{%- endmacro %}

{#- Constructs Redshift lacks, through adapter.dispatch (docs/models.md,
    "Dispatch"): default__NAME is the SQL DuckDB and PostgreSQL run,
    redshift__NAME the same result in SQL Redshift accepts. A project
    overrides one for its warehouse by defining <type>__NAME. -#}

{#- SUM(EXPR) over the rows where COND holds (NULL when none does). -#}
{%- macro sum_where(expr, cond) -%}
{{ return(adapter.dispatch('sum_where')(expr, cond)) }}
{%- endmacro %}
{%- macro default__sum_where(expr, cond) -%}
SUM({{ expr }}) FILTER (WHERE {{ cond }})
{%- endmacro %}
{#- Redshift's aggregates take no FILTER clause (r_SUM.html) -#}
{%- macro redshift__sum_where(expr, cond) -%}
SUM(CASE WHEN {{ cond }} THEN {{ expr }} END)
{%- endmacro %}

{#- The number of rows where COND holds (0 when none does). -#}
{%- macro count_where(cond) -%}
{{ return(adapter.dispatch('count_where')(cond)) }}
{%- endmacro %}
{%- macro default__count_where(cond) -%}
COUNT(*) FILTER (WHERE {{ cond }})
{%- endmacro %}
{%- macro redshift__count_where(cond) -%}
COUNT(CASE WHEN {{ cond }} THEN 1 END)
{%- endmacro %}

{#- The rows of RELATION (alias a) joined as JOIN says (text, may be
    empty), with COLUMNS (text: more columns of the join) and, for each
    window W of WINDOWS (a list of {'name', 'minutes'[, 'where']}), the
    column W.name: how many rows of a's partition (PARTITION_BY, a list of
    columns) are at most W.minutes minutes before it by ORDER_BY (a
    timestamp column), itself and rows at the same instant included,
    counting only those where W.where (a condition on a.) holds. RELATION
    needs no key: rows of the same partition and instant share their
    counts. -#}
{%- macro time_window_counts(relation, partition_by, order_by, windows, columns='', join='') -%}
{{ return(adapter.dispatch('time_window_counts')(relation, partition_by, order_by, windows, columns, join)) }}
{%- endmacro %}
{%- macro default__time_window_counts(relation, partition_by, order_by, windows, columns, join) -%}
SELECT a.*{{ ', ' ~ columns if columns }}
{%- for w in windows %},
        COUNT(*) {% if w.where is defined %}FILTER (WHERE {{ w.where }})
                 {% endif %}OVER (PARTITION BY {% for c in partition_by %}a.{{ c }}{{ ', ' if not loop.last }}{% endfor %} ORDER BY a.{{ order_by }}
                       RANGE BETWEEN {{ interval_minutes(w.minutes) }} PRECEDING
                                 AND CURRENT ROW) AS {{ w.name }}
{%- endfor %}
    FROM {{ relation }} a
    {{ join }}
{%- endmacro %}
{#- Redshift's window frames are ROWS only (r_Window_function_synopsis.html):
    the rows of each window are found by a join on the partition and the
    time range instead, every window's count in one pass, once per distinct
    time of a partition (a RANGE frame counts a row's peers, the rows of
    the same time, too: they share their counts) and joined back on it.
    Plain SQL: the same on DuckDB and PostgreSQL, where t3103 compares it
    with the default -#}
{%- macro redshift__time_window_counts(relation, partition_by, order_by, windows, columns, join) -%}
{%- set minutes = [] -%}
{%- for w in windows %}{% do minutes.append(w.minutes) %}{% endfor -%}
{%- set widest = minutes | sort | last -%}
{%- set at = partition_by + [order_by] -%}
SELECT a.*{{ ', ' ~ columns if columns }}
{%- for w in windows %}, wc.{{ w.name }}{% endfor %}
    FROM {{ relation }} a
    {{ join }}
    JOIN (
        SELECT {% for c in at %}cur.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
        {%- for w in windows %},
               COUNT(CASE WHEN a.{{ order_by }} >= cur.{{ order_by }} - {{ interval_minutes(w.minutes) }}{{ ' AND (' ~ w.where ~ ')' if w.where is defined }} THEN 1 END) AS {{ w.name }}
        {%- endfor %}
        FROM (SELECT DISTINCT {% for c in at %}{{ c }}{{ ', ' if not loop.last }}{% endfor %} FROM {{ relation }}) cur
        JOIN {{ relation }} a
          ON {% for c in partition_by %}a.{{ c }} = cur.{{ c }} AND {% endfor %}a.{{ order_by }} <= cur.{{ order_by }}
         AND a.{{ order_by }} >= cur.{{ order_by }} - {{ interval_minutes(widest) }}
        GROUP BY {% for c in at %}cur.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    ) wc ON {% for c in at %}wc.{{ c }} = a.{{ c }}{{ ' AND ' if not loop.last }}{% endfor %}
{%- endmacro %}

{#- The rows of RELATION (a ref() or source()), as exact as COUNT(*).
    On DuckDB a COUNT(*) reads the deleted rows of every row group, which
    the tables kept by change carry (2.7 s of CPU and 0.9 GB for the
    fact after two months); so a build by change records each table's
    rows as it leaves them, beside the rows its storage then holds
    (_txnflow.model_rows, docs/models.md, "Row counts"), and while the
    catalog still shows that many stored rows (anything that inserted or
    rewrote since moves it; `txnflow sql --write` and hooks forget the
    records) the
    record is the count and the table is not read. Else, and on other
    warehouses, COUNT(*). -#}
{%- macro table_rows(relation) -%}
{%- if target.type == 'duckdb' -%}
(COALESCE(({{ model_rows_record(relation) }}), 0)
     + (SELECT COUNT(*) FROM {{ relation }}
        WHERE NOT EXISTS ({{ model_rows_record(relation) }})))
{%- else -%}
(SELECT COUNT(*) FROM {{ relation }})
{%- endif -%}
{%- endmacro %}
{%- macro model_rows_record(relation) -%}
{%- set rel = relation | replace("'", "''") -%}
SELECT r.n_rows FROM "_txnflow"."model_rows" r
          JOIN duckdb_tables() t
            ON t.database_name = current_database()
           AND '"' || t.schema_name || '"."' || t.table_name || '"' = '{{ rel }}'
           AND t.estimated_size = r.stored_rows
         WHERE r.model = '{{ rel }}'
{%- endmacro %}
