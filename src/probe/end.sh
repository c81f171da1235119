# The second CPU sample last: the busiest part of the probe lies between the two.
sec stat2 s_stat2
