#!/usr/bin/env bash
# The small-scale campaign (teachers, recipe search, every table at its plan's seeds) as two
# background lanes of 1-thread processes, the layout that trains the most images/s on two
# cores (README, Speed). Every step resumes from the run cache (runs/) or from what git holds
# (results/ records, data/teachers/in-progress/), so on a fresh machine or after a kill this
# one command continues where the campaign stood, and running it twice does nothing new.
#
#   tools/campaign.sh start    start both lanes in the background (logs in runs/logs/)
#   tools/campaign.sh status   what each lane is doing and its last progress line
#   tools/campaign.sh stop     stop both lanes (a run resumes from its last checkpoint)
#   tools/campaign.sh plan     each table's runs finished and left, and the time left
#                              (`scalekd run tableN --dry-run` prints a table's runs one by one)
#   tools/campaign.sh lane-teachers | lane-students   run one lane in the foreground
#
# Lane teachers: the unfinished teachers, on the arithmetic they started with (native pins).
# Lane students: Table 9's teacher-mode rows, the recipe search, then the tables (Table 3
# first; each time the first one whose teachers are ready). A
# table waits while a teacher it distils from is still a first-analog one (no validation
# top-1 in data-manifests/teachers.yaml), so no run distils from a teacher about to change.
set -uo pipefail
cd "$(dirname "$0")/.."

# The lanes run a copy of the binary taken at start, so rebuilding while they run changes nothing.
BUILT=${SCALEKD_BIN:-.build/release/scalekd}
BIN=runs/bin/scalekd-campaign
LOGS=runs/logs
mkdir -p "$LOGS"
TEACHERS=(vit-mini-l swin-mini-b)
# table:teachers it distils from (the tables' rows; Table 15 only times steps). The paper's
# main table first (its backbones also feed Tables 5 and 6), then the pilot study and the
# ablations; with the recipes' epochs the campaign is days of CPU (`make plan`), so the order
# decides what a reader has first. Each table trains seed by seed (TableRunner.configs).
TABLES=(3:swin-mini-l,vit-mini-l 1:swin-mini-s 9:swin-mini-s 5:swin-mini-l 6:swin-mini-l 7:swin-mini-l
        4:swin-mini-l 16:swin-mini-l 2:swin-mini-s,swin-mini-b,swin-mini-l)

log() { echo "[$(date -u +%FT%TZ)] $*"; }

# A teacher of the current analog: its manifest entry has a validation top-1.
teacher_ready() {
    awk -v n="$1" '/^- name: /{cur=$3} cur==n && /validationTop1:/{found=1} END{exit !found}' data-manifests/teachers.yaml
}

lane_alive() { [ -f "$LOGS/lane-$1.pid" ] && kill -0 "$(cat "$LOGS/lane-$1.pid")" 2>/dev/null; }

lane_teachers() {
    local pending=()
    for t in "${TEACHERS[@]}"; do teacher_ready "$t" || pending+=("$t"); done
    [ ${#pending[@]} -eq 0 ] && { log "teachers: all current"; return 0; }
    local only; only=$(IFS=,; echo "${pending[*]}")
    log "teachers: $only"
    SCALEKD_CONV=native SCALEKD_GEMM=openblas SCALEKD_THREADS=1 "$BIN" teachers --only "$only" --checkpoint-seconds 300
}

run_table() {
    # One process while the teacher lane holds the other core, one per core after.
    local jobs=2; { lane_alive teachers || [ -n "${2:-}" ]; } && jobs=1  # --rows trains in one process
    log "table $1 (jobs $jobs${2:+, rows $2})"
    SCALEKD_THREADS=1 "$BIN" run "table$1" --jobs "$jobs" ${2:+--rows "$2"}
}

lane_students() {
    # Table 9's teacher-mode comparison (issue 24; resnet-mini's recipe is settled), then the
    # recipe search (the tables' students), then the tables.
    run_table 9 a-full,e-teacher-train || log "table 9 rows failed (status $?)"
    log "recipes"
    SCALEKD_THREADS=1 "$BIN" recipes || log "recipes failed (status $?); tables use the recipes chosen so far"
    local pending=("${TABLES[@]}")
    # Each time: the first table in the order whose teachers are ready (so a table that was
    # waiting for a teacher comes next once the teacher is done, ahead of later tables).
    while [ ${#pending[@]} -gt 0 ]; do
        local picked="" rest=()
        for entry in "${pending[@]}"; do
            local ready=1 needs
            IFS=, read -ra needs <<< "${entry#*:}"
            for t in "${needs[@]}"; do teacher_ready "$t" || ready=0; done
            if [ -z "$picked" ] && [ $ready -eq 1 ]; then picked=$entry; else rest+=("$entry"); fi
        done
        if [ -n "$picked" ]; then
            run_table "${picked%%:*}" || log "table ${picked%%:*} failed (status $?)"
            pending=("${rest[@]+"${rest[@]}"}")
        else
            lane_alive teachers || { log "tables ${pending[*]} wait for teachers, but the teacher lane is not running"; return 1; }
            sleep 600
        fi
    done
    log "students: every table assembled"
}

start_lane() {
    if lane_alive "$1"; then log "lane $1 already running (pid $(cat "$LOGS/lane-$1.pid"))"; return; fi
    setsid nohup "$0" "lane-$1" >> "$LOGS/lane-$1.log" 2>&1 < /dev/null &
    echo $! > "$LOGS/lane-$1.pid"
    log "lane $1 started (pid $!, log $LOGS/lane-$1.log)"
}

case "${1:-status}" in
    start)
        [ -x "$BUILT" ] || { echo "no $BUILT: run 'make build' (or set SCALEKD_BIN)" >&2; exit 1; }
        if ! lane_alive teachers && ! lane_alive students; then mkdir -p runs/bin && cp "$BUILT" "$BIN.tmp" && mv "$BIN.tmp" "$BIN"; fi
        start_lane teachers
        sleep 2  # the student lane reads whether the teacher lane holds a core
        start_lane students ;;
    stop)
        for lane in teachers students; do
            if lane_alive $lane; then kill -- -"$(cat "$LOGS/lane-$lane.pid")" && log "lane $lane stopped"; fi
        done ;;
    status)
        for lane in teachers students; do
            if lane_alive $lane; then state="running (pid $(cat "$LOGS/lane-$lane.pid"))"; else state="not running"; fi
            echo "lane $lane: $state"
            [ -f "$LOGS/lane-$lane.log" ] && { grep '^\[20' "$LOGS/lane-$lane.log" | tail -n 1; tail -n 1 "$LOGS/lane-$lane.log"; }
        done ;;
    plan)
        [ -x "$BUILT" ] || { echo "no $BUILT: run 'make build' (or set SCALEKD_BIN)" >&2; exit 1; }
        for entry in "${TABLES[@]}"; do
            "$BUILT" run "table${entry%%:*}" --dry-run 2>/dev/null | grep -E '^(Table|Left)' || echo "table ${entry%%:*}: dry run failed"
        done ;;
    lane-teachers) lane_teachers ;;
    lane-students) lane_students ;;
    *) echo "usage: $0 start|status|stop|plan|lane-teachers|lane-students" >&2; exit 2 ;;
esac
