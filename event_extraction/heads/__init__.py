"""The event extraction heads, one module each, behind one table: `--head NAME` is HEADS[NAME].

Every head has the same small interface (event_extraction/events.py and track.py call nothing else):
  name, lr_multiplier (its --head-lr-multiplier default), help, thresholds (the Config fields its decisions
      are thresholded by: --thresholds dev searches them)
  rows(examples) -> training rows; length(row) -> a row's tokens
  fit(examples, rows, classes, max_span_len) -> {Config field: value}: what it takes from the training
      data (priors, caps), saved in the Config
  held(train, examples, lost) -> str: what of the training data it can represent (or DataError)
  collate(rows, classes, config) -> arrays keyed by the training model's input names
  build(bert, classes, config) -> Models
  window_events(predictor, examples, settings) -> per setting (a thresholds dict), per window [(event type or
      None, trigger (first, last) or None, [(class, first, last)])] in model positions, from one pass of the
      predictor's members (averaged for ensembles)
  gold_events(example, classes, config): the same, decoded from the example's own labels (the ceiling)
  caps(config, cut) -> (the caps, what they cut): the predictor's warning
"""
from event_extraction.heads import pointer, span, tagging, trigger


HEADS = {h.name: h for h in (trigger.HEAD, pointer.HEAD, span.HEAD, tagging.CRF, tagging.MEMM)}
