{#- The event dates an incremental run rebuilds: var('dates'), set by the
    orchestrator to the event dates whose silver partitions the day's clean
    rewrote (late arrivals and newer versions rebuild earlier days). On a
    first run, with --full-refresh, or without var('dates') the model
    builds every date. Renders "AND COL IN (...)" or nothing. -#}
{%- macro incremental_date_filter(col) -%}
{%- set dates = var('dates', none) -%}
{%- if is_incremental() and dates is not none -%}
{%- if dates is string %}{% set dates = [dates] %}{% endif %}
  AND {{ date_in_list(col, dates) }}
{%- endif -%}
{%- endmacro %}

{#- The logical date the marts are "as of": var('run_date') as the
    orchestrator sets it; without it, the latest event date in the fact
    (a property of the data, so a rerun gives the same answer — never the
    wall clock). A DATE expression. -#}
{%- macro as_of_date() -%}
{%- set rd = var('run_date', none) -%}
{%- if rd is not none -%}
{{ date_literal(rd) }}
{%- else -%}
(SELECT MAX(event_date) FROM {{ ref('fact_transactions') }})
{%- endif -%}
{%- endmacro %}
