"""Every tolerance and constant of the line measurement, named once, each with its reason.

Units are in the names: `_MM` millimetres of the form, `_MM2` square millimetres, `_PX`
pixels of the upright work image (resampled at WORK_PX_PER_MM, so 1 px = 0.125 mm). The
rest are shares, ratios or counts. "Of the print" means relative to the printed line's
darkness: the ink image is divided by it, so 1.0 is as dark as the print.
"""

WORK_PX_PER_MM = 8.0  # mark zones are resampled at this; sub-pixel fits reach the 0.1 mm read

# --- The paper, the printed line and its end stops (line.py) ---
PAPER_WINDOW_MM = 3.0  # the paper's own colour is its lightest over this, wider than a stroke
LINE_SEARCH_MM = 1.5  # how far the line may sit from where the registration marks predict it
END_SEARCH_MM = 1.5  # same for each end stop, along the line
NEAR_END_MM = 3.0  # a mark this close to an end may pull that end stop's detection
LINE_STRETCH_MM = 5  # the line is followed in stretches this long: their median ignores a stroke
LINE_END_CLEAR_MM = 2  # ...from this far inside its ends, where the stops' ink does not reach
MIN_LINE_STRETCHES = 6  # fewer usable stretches than this: too little line to fit a straight one
PEAK_HALF_ROWS = 3  # a stretch's centre row weighs this many rows (px) either side of its darkest
PEAK_FLOOR = 0.3  # ...by their darkness above this share of the darkest (the faint tails are noise)
MIN_LINE_CONTRAST = 15.0  # grey levels: a line fainter than this is not the print (blank or lost)
LINE_PEAK_SHARE = 0.5  # stretches less than this share as dark as the median are gaps in the line
LINE_FIT_PASSES = 2  # the straight fit is redone this often, each time without its outliers
OUTLIER_MEDIANS = 3  # a stretch further off the fit than this many median residuals is dropped...
OUTLIER_MIN_PX = 1.0  # ...if also this far off, so a very straight line keeps its stretches
INK_THRESHOLD = 0.14  # ink darker than this fraction of the printed line's contrast counts
MIN_HALF_THICKNESS_PX = 0.5  # the line's measured half-thickness is at least half a pixel
FALLBACK_HALF_THICKNESS_MM = 0.15  # the half-thickness taken when no row is dark enough to show it
STOP_PROFILE_MARGIN_MM = 1  # a stop is profiled this much beyond its search, to see both its edges
STOP_TIP_TRIM_MM = 0.3  # its rows leave out this much at its tips, blurred into the paper
STOP_LINE_CLEAR_MM = 0.6  # ...and this much either side of the line's centre, where the line is ink
MIN_STOP_ROWS = 4  # fewer rows (px) than this beside the line show no stop (off the image)
MIN_STOP_COLS = 3  # ...as do fewer columns (px) to search
MIN_STOP_CONTRAST = 0.6  # a stop is at least this dark (of the print); fainter is no stop
STOP_EDGE_SHARE = 0.5  # a stop's extent: its columns darker than this share of its darkest
STOP_WIDE_RATIO = 2.5  # a stop this many times wider than printed (+ STOP_WIDE_SLACK_PX)...
STOP_WIDE_SLACK_PX = 2  # ...has a pen stroke along it, which would pull its centre
PRINT_MASK_MARGIN_MM = 0.15  # printed strokes are masked this much wider than they measure
MASK_PAST_END_MARGINS = 2  # the line's mask runs this many margins past each end (blurred ends)
STOP_MASK_SIDE_MARGINS = 1.5  # a stop's mask is this many margins wider each side than the stop...
STOP_MASK_TIP_MARGINS = 2  # ...and this many longer at each tip, where blur spreads furthest

# --- Finding the pen marks (marks.py) ---
NOISE_SIGMAS = 6.0  # ink is darker than the paper's noise by this many standard deviations
MAD_TO_SIGMA = 1.4826  # a median absolute deviation times this is a standard deviation (normal)
WEAK_INK_THRESHOLD = 0.07  # ink this dark (of the print) joined to visible ink is part of it:
#   a faint or grainy pencil stroke fades below INK_THRESHOLD in places, near the line too
WEAK_NOISE_SIGMAS = 4.0  # ...if also darker than the paper's noise by this many deviations
PAPER_SAMPLE_STEP = 2  # the paper's noise is read on every 2nd row and column: as telling, quicker
MIN_MARK_AREA_MM2 = 0.35  # smaller ink is dust or noise...
STROKE_MIN_LENGTH_MM = 1.5  # ...unless a stroke this long as large at its own contrast: a light
#   pencil touch (0.34 mm2 of ink at contrast 0.31, 4 mm long); toner specks reach 1.3 mm
#   and 0.18-0.29 mm2 at their own contrast (copies and faxes of the target stacks)
CANDIDATE_AREA_SHARE = 0.4  # ink under this share of MIN_MARK_AREA_MM2 is not even a speck
MARK_BRIDGE_MM = 1.0  # a stroke's pieces either side of the printed line are joined
MARK_CLOSE_MM = 0.45  # gaps in grainy or broken strokes up to this are closed
WIDE_ONE_SIDED_MM = 2.5  # wider than a tick where it meets the line from one side
NEAR_STOP_KERNEL_PX = 5  # ink within this square (px, 2 either side) of a stop's mask touches it
STOP_GROUP_MM = 2  # ink touching a stop within this of the line's end is one mark (stop hides it)
BOX_MARGIN_MM = 3  # a mark is worked on in its box grown by this: room for morphology and print
MARK_CONTRAST_PERCENTILE = 90  # a mark's contrast is its dark core's, not its blurred edges'
ZONE_EDGE_PX = 1  # ink within this (px) of the mark zone's edges reaches them
THICK_LINE_MM = 0.15  # extra darkness across the line (in mm of full ink) that is a mark
THICK_END_GAP_MM = 0.8  # ...looked for this far inside the end stops
THICK_BASELINE_MM = 12.0  # ...against the line's own thickness over this stretch
UNDER_STOP_INK = 0.3  # stop pixels this much darker than the other stop's count in a mark's extent
HIDDEN_CROSSING_MM = 2.0  # a reading this close to an end may lie under its stop
CROSSING_CLEAR_OF_STOP_MM = 1.5  # an X crossing this far from an end crosses in view of its stop
STOP_WINDOW_MM = 1.5  # half-width of the window compared around each end stop
STOP_WINDOW_CLEAR_MM = 0.2  # ...leaving out this much beside the line's band (the line, not a stop)
STOP_EXTRA_INK_MM2 = 0.5  # one stop with this much more ink than the other is marked...
STOP_EXTRA_RATIO = 1.10  # ...and this many times as much
STOP_HINT_INK_MM2 = 0.25  # a line read blank whose one stop has this much more ink...
STOP_HINT_RATIO = 1.05  # ...and this many times as much is said to (a hint, its status stays
#   missing): pencil strokes wholly within a stop's mask showed 0.29-0.44 mm2; no blank item
#   of the target or clean-only stacks reached 0.25 (clean ones 0.16 at most, other items
#   on office scans 0.36, on phone photos and copies 0.65: a hint, not a mark)
INFERRED_RMS_MM = 1.0  # the scatter of a mark inferred on a stop: only the stop says where it is
STROKE_GAP_MM = 0.5  # strokes closer than this in a column are one (grainy pencil)
SCRIBBLE_STROKES = 3  # a column crossing this many strokes is layered: no tick, cross or circle
SCRIBBLE_LAYERED = 0.2  # a mark with this share of layered columns is scribbled...
SCRIBBLE_MIN_AREA_MM2 = 3.0  # ...if it holds this much ink: a zig-zag crossing out an answer
#   does (generated ones 4.3-50 mm2), a grainy pencil stroke whose gaps look layered does not
#   (1.7-2.4 mm2 on the calibration stacks)
LAYERED_HEAVY_AREA_MM2 = 18.0  # a mark holding this much ink (more than all but 1% of ticks)...
HEAVY_LAYERED = 0.08  # ...is scribbled with this share of layered columns already: a zig-zag
#   over a tick (24.8 mm2, 0.17 layered) passed as the tick; of 4,500 single marks read on
#   the bench stacks, none holds 18 mm2 with 0.08 layered (crosses and circles: 0.01 at most)
MEETING_BAND_MM = 0.5  # ink this close to the line's masked band meets the line
RING_EDGE_MM = 0.8  # a circle's sides leave the line within this height of its band
MEETING_GAP_MM = 1.2  # meetings further apart than this are separate
MEETING_TOUCH_MM = 0.25  # ink this close beyond the print touches the line...
MEETING_RIDGE_MM = 0.6  # ...and two such places are two meetings, however close, where the ink
MEETING_RIDGE_WIDTH_MM = 0.5  # ...between them keeps this far from the print over this width
EDGE_STRIP_PX = 2  # ink in a column this thin (px) along the print is its blurred edge, no stroke
STREAK_CHECK_MM = 5.0  # a thin dark line going on this far above and below the mark zone...
STREAK_HALF_WIDTH_MM = 2.0  # ...within this of the mark, in most rows (STREAK_ROW_SHARE)...
STREAK_ROW_SHARE = 0.8  # ...dark in this share of the rows: a straight line, not a stroke's end
STREAK_CONTRAST = 0.25  # ...at least this dark (vs the print): a scanner streak or a fold
STREAK_PAPER_PERCENTILE = 90  # the paper's level in a streak strip (most of the strip is paper)

# --- Locating a mark's crossing point (locate.py) ---
FIT_HALF_HEIGHT_MM = 1.5  # rows this close to the line locate the crossing point
MIN_FIT_PIXELS = 3  # fewer visible pixels than this that close: the rows nearest the mark are used
FIT_FALLBACK_MM = 1.0  # ...those within this of its closest approach
CLOSEST_BAND_MM = 0.6  # ink this near a mark's closest approach shows how wide it meets the line
MIN_FIT_ROWS = 3  # a slope is fitted through this many rows at least...
MIN_FIT_SPAN_PX = 1.0  # ...spanning this (px); else the ink's centre is taken
SHORT_OF_LINE_MM = 0.6  # a mark ending this far short of the line...
MAX_EXTRAPOLATION_MM = 1  # ...is read at its nearest row if its fit would move more than this
V_HALF_HEIGHT_MM = 3.0  # rows this close to the line are searched for the two strokes of a V
V_MEET_MM = 1.5  # a V's strokes must meet this close to the line
MIN_V_ROWS = 4  # a V's strokes are fitted through this many rows that cross exactly two, at least
V_WHOLE_WIDTH_SHARE = 0.8  # rows narrower than this share of a stroke's median are its rounded end
V_MIN_HEIGHT_MM = 0.5  # the rows fitted span this height at least, or the slopes are guesses
V_MIN_SPREAD = 0.4  # px of width per px of height: strokes spreading less are not a V
V_SPREAD_MIN_ROWS = 3  # two strokes drawing apart in this many rows: a V, if one whose point
#   was not found (its reading goes to a person)
VERTEX_SCATTER_MM = 0.25  # an X's crossing, its strokes fitted across the line, is less sure
V_POINT_SCATTER_MM = 1.0  # ...and a V's point, extrapolated from one side, less sure still
V_TIP_SCATTER_MM = 0.15  # ...unless seen where its rounded end shows beyond the line
V_TIP_MIN_PX = 3  # ...in this many pixels at least
V_TIP_MAX_WIDTH_MM = 2.0  # ...no wider than this (a pen's rounded end, blurred)
V_TIP_MAX_DEPTH_MM = 1.5  # ...reaching no further than this from the line's centre
MIN_WHOLE_RUNS = 4  # a stroke is fitted through this many rows where it shows whole, at least...
WHOLE_RUNS_MIN_HEIGHT_MM = 1.5  # ...spanning this height...
WHOLE_RUNS_MAX_DISTANCE_MM = 3  # ...and coming this close to the line
WHOLE_RUNS_MAX_RMS_MM = 0.5  # a fit scattered more than this is no straight stroke
MAX_STOP_SPREAD_MM = 1.0  # the scatter of a mark read by its ink around a stop, at most
STOP_HIDDEN_WEIGHT = 1.0  # ink presumed under an end stop counts in a mark's centre
HALF_HIDDEN_END_RMS_MM = 0.3  # the scatter of a wide mark half under a stop, read near the end
PLAUSIBLE_BAND_MM = 1.5  # a mark's reading must fall within its ink this close to the line
PLAUSIBLE_NEAREST_MM = 0.5  # ...or within this of its closest approach, for a mark that ends short
PLAUSIBLE_SLACK_MM = 0.5  # ...give or take this much
IRREGULAR_RMS_MM = 1.2  # scatter beyond this: a smudge or scribble, not a clear mark
DOUBTFUL_RMS_MM = IRREGULAR_RMS_MM + 0.1  # a scatter given to a guessed reading: goes to a person

# --- Judging the candidates (judge.py) ---
NEAR_LINE_MM = 1.5  # a mark that never comes this close to the line is "far"
FAINT_CONTRAST = 0.22  # marks fainter than this (vs the printed line) are uncertain
HEAVY_MARK_AREA_MM2 = 26.0  # more ink than any single tick, cross or circle: a scribble
HEAVY_CONTRAST_POWER = 0.5  # ...its area divided by this power of its contrast when darker than
#   the print: blur weakens the thin print more than a pen, whose blurred edges then count
#   as full ink (a thick cross on a blurred photo reached 28 mm2; scribbles 28-52)
SOLID_MARK_AREA_MM2 = 0.8  # a second mark at least this large makes an item "multiple"
SMALL_MARK_MM2 = 0.6  # a mark this small is doubted when specks of SPECK_SHARE its size lie near
SPECK_SHARE = 0.5  # ...specks at least this share of its area: it may be a speck itself
WIDE_MARK_MM = 8.5  # one mark's ink near the line is narrower than this (crosses: <= 8)

# --- The reading's standard error, calibrated on generated stacks (bench/calibrate.py) ---
# Fitted by maximum likelihood on six 120-page stacks (seeds 101-106, 2,124 clear readings)
# and checked on others (seeds 201-206), so that (reading - truth) / sigma behaves like
# N(0, 1): see the tables in bench/README.md. A clear mark read by its strokes is good to
# ~0.04 mm whatever the scan; a V or X read at the meeting of its strokes is less sure; a
# stop hiding part of a mark is the largest doubt. (The scatter terms were refitted when V
# and X readings changed, the others held.)
BASE_SIGMA_MM = 0.031  # a floor: no reading is surer than this
SIGMA_PER_PIXEL = 0.05  # a share of the image's pixel size (mm): no dependence showed between
#   3.7 and 8.4 px/mm (as decoded), kept small for coarser images than those
SIGMA_PER_BLUR = 0.023  # per mm the printed line shows wider than printed (blur)
SIGMA_PER_SCATTER = 0.12  # a share of the mark's own scatter (mm; an X counts 0.25, a V's
#   point 1.0, or 0.15 where it shows past the line): held, as fitted freely it falls to
#   ~0.01 and leaves V and X readings on sharp scans too sure (|z| up to 3.8 held out)...
SIGMA_PER_SCATTER_BLUR = 0.0  # ...plus this share of it per mm of blur: the fit gives none (it
#   was 0.53) now that a V is read at its tip and an X across the line, where blur joining
#   their strokes no longer shifts the reading
AT_STOP_SIGMA_MM = 0.047  # added for a mark touching an end stop, which hides part of it...
AT_STOP_PER_SCATTER = 0.67  # ...plus this share of its scatter
CROSSING_SURE_OF_STOP_MM = 3.0  # ...but not for an X read where its strokes cross this far from
#   the end: 21 such readings 3.0-5.3 mm from an end on the bench stacks, |z| <= 2.8 without
#   the stop's share (errors up to 0.21 mm); nearer, 1.5-3 mm from it, errors reached 0.46
#   mm at sigma 0.07 (the hidden arm pulls the fit)
NO_ENDS_SIGMA_MM = 0.3  # added when the line's ends had to be predicted (too rare to fit)

# --- Confidence (judge.py) ---
MISSING_CONFIDENCE = 0.95  # a line with no ink near it is rarely misread
NO_MARK_CONFIDENCE = 0.5  # an item with marks but none chosen (multiple): a person decides
MAX_SIGMA_LOSS = 0.5  # the reading's sigma (mm) lowers confidence by at most this
FULL_CONTRAST = 0.8  # marks this dark (of the print) lose no confidence for faintness...
CONTRAST_POWER = 0.5  # ...fainter ones keep this power of their share of it (a square root)
NO_ENDS_FACTOR = 0.7  # confidence kept when the line's ends were predicted, not found
NOT_OK_FACTOR = 0.6  # confidence kept when the item goes to a person
