# Stages summarize, report and pdf (filled in with the report).
