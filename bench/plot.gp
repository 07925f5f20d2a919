# ns per decision against statement count (log-log) from the suite's decide.csv: gatehouse's
# compiled structure, its decide() without statement ids, and the naive reference scan.
# Variables (gnuplot -e): csv = input file, png = output file.
if (!exists("csv")) csv = "bench/results/decide.csv"
if (!exists("png")) png = "bench/decide.png"

set terminal pngcairo size 900,600 font "sans,11"
set output png
set datafile separator ","
set title "gatehouse-bench: time per decision vs statement count"
set xlabel "statements in the set"
set ylabel "ns per decision (median; bars to p99)"
set logscale xy
set format y "10^{%L}"
set format x "10^{%L}"
set xrange [5:20000]
set yrange [10:1e7]
set grid xtics ytics mxtics mytics lc rgb "#dddddd"
set key top left box opaque

# SPEC §9 targets: median <= 100 ns at 10 statements, <= 300 ns at 10,000.
set label 1 "target 100 ns" at 10,100 offset 1.2,-1 textcolor rgb "#b22222"
set label 2 "target 300 ns" at 10000,300 offset -4,-1.2 textcolor rgb "#b22222"
$targets << EOD
10,100
10000,300
EOD

plot csv every ::1 using 1:2:2:3 with yerrorlines lw 2 pt 7 lc rgb "#1f77b4" \
       title "gatehouse evaluate() (decision + statement ids)", \
     csv every ::1 using 1:6 with linespoints lw 2 pt 5 dt 2 lc rgb "#2ca02c" \
       title "gatehouse decide() (decision only)", \
     csv every ::1 using 1:4:4:5 with yerrorlines lw 2 pt 9 lc rgb "#ff7f0e" \
       title "naive reference (scan every statement)", \
     $targets using 1:2 with points pt 6 ps 2.5 lw 2 lc rgb "#b22222" title "SPEC §9 target"
