#!/bin/sh
# Opens an explanation report in headless Chromium and checks that every <img> decoded; it
# also prints how many curves of the training-run section and how many cells of the cluster
# label table were drawn with a non-empty extent, and the section headings the page shows.
#
#   Tests/ExplainTests/check_report.sh DIR/report.html [screenshot.png]
#
# The report itself carries no script. This check loads a copy with one inline script appended
# that counts images with a decoded bitmap (naturalWidth > 0) and writes the count into the
# page; Chromium's --dump-dom prints the page after load. Network access is disabled with a
# proxy that goes nowhere, so an external reference would fail to load and be counted.
# Exit 0 when all images are shown; 1 otherwise; 77 when Chromium is not installed.
set -eu
report=${1:?usage: check_report.sh report.html [screenshot.png]}
shot=${2:-}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then echo "check_report: chromium not installed (apt-get install chromium)"; exit 77; fi
[ -f "$report" ] || { echo "check_report: $report: no such file"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
copy="$work/report-check.html"
cp "$report" "$copy"
cat >> "$copy" <<'SCRIPT'
<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length;
  var svgs = document.querySelectorAll('svg').length;
  var curves = Array.prototype.slice.call(document.querySelectorAll('svg polyline.series')).filter(function (l) {
    var b = l.getBBox(); return l.points.numberOfItems > 0 && (b.width > 0 || b.height > 0);
  }).length;
  var cells = Array.prototype.slice.call(document.querySelectorAll('svg rect.cell')).filter(function (r) {
    var b = r.getBBox(); return b.width > 0 && b.height > 0;
  }).length;
  var sections = Array.prototype.slice.call(document.querySelectorAll('h2')).map(function (h) { return h.textContent; });
  var p = document.createElement('pre');
  p.id = 'report-check';
  p.textContent = 'REPORT-CHECK images ' + ok + '/' + imgs.length + ' svg ' + svgs + ' curves ' + curves +
    ' cells ' + cells + ' sections |' + sections.join('|') + '|';
  document.body.appendChild(p);
});
</script>
SCRIPT

flags="--headless --no-sandbox --disable-gpu --no-first-run --proxy-server=127.0.0.1:9 --user-data-dir=$work/profile"
line=$("$browser" $flags --virtual-time-budget=10000 --dump-dom "file://$copy" 2>/dev/null | grep -o 'REPORT-CHECK images [0-9]*/[0-9]* svg [0-9]* curves [0-9]* cells [0-9]* sections [^<]*' || true)
if [ -n "$shot" ]; then
  "$browser" $flags --window-size=1280,4000 --screenshot="$shot" "file://$report" >/dev/null 2>&1 || true
fi
echo "check_report: ${line:-no result from chromium}"
case "$line" in
  "REPORT-CHECK images "*)
    counts=${line#REPORT-CHECK images }
    counts=${counts% svg *}
    loaded=${counts%/*}; total=${counts#*/}
    if [ "$total" -gt 0 ] && [ "$loaded" = "$total" ]; then exit 0; fi ;;
esac
exit 1
