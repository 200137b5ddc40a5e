"""What every experiment's grid shares, by job: the command line (commandline), the run
records and their files (records), laying out and resuming the grid (planning), and
reading the runs back for a report (summaries)."""
