# DET curves of `biohub eval finger` (docs/FINGER.md).  Regenerate with:
#   biohub eval finger --data DB1_B --det /tmp/det_db1.txt
#   biohub eval finger --data DB2_B --ppi 569 --det /tmp/det_db2.txt
#   gnuplot -e "db1='/tmp/det_db1.txt'; db2='/tmp/det_db2.txt'; out='docs/finger_det.png'" docs/finger_det.gp
set terminal pngcairo size 800,600 font ",11"
set output out
set logscale xy
set xrange [0.0003:1]
set yrange [0.003:1]
set xlabel "FMR (false match rate)"
set ylabel "FNMR (false non-match rate)"
set title "biohub finger (MCC LSS-R x orientation field), FVC2002 set B, all-pairs protocol"
set grid xtics ytics mxtics mytics
set key top right
# zero rates cannot be drawn on log axes: those points are dropped
plot db1 using ($2>0?$2:1/0):($3>0?$3:1/0) with lines lw 2 title "DB1\\_B (500 ppi)", \
     db2 using ($2>0?$2:1/0):($3>0?$3:1/0) with lines lw 2 title "DB2\\_B (569 ppi)", \
     x with lines dt 2 lc rgb "gray" title "EER line"
