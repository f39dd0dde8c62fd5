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
