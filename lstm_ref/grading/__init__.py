"""Checks for the autograded exercises. One place for every tolerance, every input the
autograder feeds a student's function, and every message a student reads.

A test cell in an exercise notebook is one short call, e.g.

    from lstm_ref import grading
    grading.check_lstm_step_forward(lstm_step_forward)

Each check runs the student's function on a small hand-made case and on seeded random
ones (B = 1, T = 1, H != D among them), compares every output with `lstm_ref` at the
tolerances of `lstm_ref.tolerances` (the ones the package's own tests use), and raises
`GradingError` with a message that says what is wrong: which output, its shape, which
gate, the worst entry with its index, the error and the tolerance, NaNs, or a known
mistake recognised from its result. A function that calls `lstm_ref` to do the work it
was asked to do earns no points, and is told why.

The checks, by exercise:

- 01 (RNN): check_rnn_step_forward, check_rnn_forward, check_rnn_step_backward,
  check_rnn_backward, check_rnn_backward_many_to_one, check_gradient_by_lag,
  check_gradient_by_lag_long.
- 02 (LSTM cell): check_sigmoid, check_lstm_step_forward, check_lstm_step_shapes,
  check_lstm_step_rollout.
- 03 (backpropagation): check_lstm_step_backward, check_lstm_backward,
  check_lstm_backward_many_to_one, check_numerical_gradient, check_rel_error,
  check_peephole_step_backward (a variant of chapter 5).
- 04 (Keras): check_keras_model, check_keras_compile, check_to_keras_lstm,
  check_from_keras_lstm, check_keras_round_trip, check_to_keras_gru, check_from_keras_gru
  (both: check_keras_gru), check_sentiment_training (which runs
  check_sentiment_model); the generated reviews: sentiment_data, sentiment_reviews,
  encode_reviews.
- 05 (PyTorch): check_torch_lstm, check_torch_lstm_parameters, check_to_torch_lstm,
  check_from_torch_lstm (both: check_torch_layout), check_adding_training
  (which runs check_adding_model).
- 06 (forecasting): check_make_windows, check_chronological_split, check_scaler,
  check_last_value, check_seasonal_naive, check_forecaster; the data: co2_monthly,
  forecasting_data.
- 07 (GRU): check_gru_step_forward, check_gru_step_backward, check_gru_backward,
  check_gru_backward_many_to_one.
- 08 (RNN against LSTM): check_cell_model, check_set_forget_bias, check_clipped_step,
  check_seeded_training, check_rnn_vs_lstm (which runs check_rnn_vs_lstm_models).
- 09 (character language model): check_char_lm_lstm, check_embedding_forward,
  check_embedding_backward, check_temporal_softmax_loss, check_char_lm_loss,
  check_clip_by_global_norm, check_adam_step, check_char_lm_training (which runs
  check_char_lm_model), check_sample_next, check_generate; the data: char_lm_data.
- Questions on the ideas, in 01, 03, 05, 07 and 08: check_answer (grading.questions).

Keras, TensorFlow, PyTorch and statsmodels are imported inside the checks that need them,
so that lstm_ref imports with NumPy alone. check_sentiment_model and check_adding_model
train nothing: they measure the student's trained model on held-out data they draw
themselves. check_forecaster calls the student's fitting function once, with the training
and validation windows only, so that fitting cannot see the test period. All three report
the score next to a baseline.

A backward check runs the student's own forward function to make the cache (its layout
is the student's business), checks that forward first, and only then the backward.
"""
# The data of exercises 04 and 06, re-exported: a notebook reads them as grading.<name>.
from ..datasets import (NEGATIVE_WORDS, POSITIVE_WORDS, SENTIMENT_EXAMPLE, SENTIMENT_LEN,  # noqa: F401
                        SENTIMENT_WORDS, co2_monthly, encode_reviews, sentiment_data, sentiment_reviews,
                        windows)
from .core import (HIDDEN_SEED, RELATIVE_ONLY, GradingError, drawn, hidden, SHAPE_HINTS, check_array, check_gate_blocks,
                   run_student, step_cases, upstream, sequence_cases, long_sequence_case, unit_rows)  # noqa: F401
from .lstm_cell import (LSTM_STEP_ARGS, check_sigmoid, check_lstm_step_forward,
                        check_lstm_step_rollout, check_lstm_step_shapes)  # noqa: F401
from .rnn import (RNN_STEP_ARGS, RNN_SEQUENCE_ARGS, check_rnn_step_forward, check_rnn_forward,
                  check_rnn_step_backward, check_rnn_backward, check_rnn_backward_many_to_one,
                  check_gradient_by_lag, check_gradient_by_lag_long)  # noqa: F401
from .backprop import (GIVEN_FORWARD, LSTM_SEQUENCE_ARGS, LSTM_STEP_GRADS,
                       WEIGHT_GRADS, PEEPHOLE_STEP_GRADS, check_lstm_step_backward, check_lstm_backward,
                       check_lstm_backward_many_to_one, check_numerical_gradient, check_rel_error,
                       check_peephole_step_backward)  # noqa: F401
from .keras import (KERAS_MODEL_SIZES, SENTIMENT_TEST_SEED, SENTIMENT_TEST_SIZE,
                    SENTIMENT_MIN_ACCURACY, SENTIMENT_ABLATED_ACCURACY, check_keras_model, check_keras_compile,
                    keras_transfer_cases, check_to_keras_lstm, check_from_keras_lstm,
                    check_keras_round_trip, check_to_keras_gru, check_from_keras_gru, check_keras_gru,
                    check_sentiment_training, check_sentiment_model)  # noqa: F401
from .pytorch import (FUSED_RECURRENCES, ADDING_T, ADDING_MARGIN, ADDING_TEST_SEED,
                      ADDING_TEST_SIZE, ADDING_ALLOWED, ADDING_ABLATED, torch_lstm_cases, check_torch_lstm,
                      check_torch_lstm_parameters, check_to_torch_lstm, check_from_torch_lstm,
                      check_torch_layout, check_adding_training, check_adding_model)  # noqa: F401
from .forecasting import (FORECAST_LOOKBACK, FORECAST_VAL, FORECAST_TEST, SEASON, FORECAST_ABLATED,
                          FORECASTER_ALLOWED, check_make_windows, check_chronological_split,
                          check_scaler, check_last_value, check_seasonal_naive, forecasting_data,
                          check_forecaster)  # noqa: F401
from .gru import (GRU_STEP_ARGS, GRU_SEQUENCE_ARGS, GRU_STEP_GRADS, GRU_SEQUENCE_GRADS, GRU_ALLOWED,  # noqa: F401
                  check_gru_step_forward, check_gru_step_backward, check_gru_backward,
                  check_gru_backward_many_to_one)
from .questions import QUESTIONS, check_answer  # noqa: F401
from .charlm import (CHAR_LM_SIZES, CHAR_LM_ALLOWED, CHAR_LM_TEST_SEED, CHAR_LM_PIECE, CHAR_LM_MARGIN_BITS, GENERATE_PRIME, char_lm_data, check_char_lm_lstm, check_embedding_forward, check_embedding_backward, check_temporal_softmax_loss, check_char_lm_loss, check_clip_by_global_norm, check_adam_step, check_char_lm_training, check_char_lm_model, check_sample_next, check_generate)  # noqa: F401
from .memory import (MEMORY_T, MEMORY_H, MEMORY_BATCH, MEMORY_STEPS, MEMORY_LR, MEMORY_CLIP,
                    MEMORY_SEEDS, MEMORY_RUNS, MEMORY_VAL_SEED, MEMORY_VAL_SIZE,
                    MEMORY_TEST_SEED, MEMORY_TEST_SIZE, MEMORY_LSTM_BAR, MEMORY_RNN_FLOOR,
                    MEMORY_MOST, MEMORY_ABLATED, MEMORY_ALLOWED, MEMORY_AGREE,
                    MEMORY_SHORT_STEPS, check_cell_model, check_set_forget_bias,
                    check_clipped_step, check_seeded_training, check_rnn_vs_lstm,
                    check_rnn_vs_lstm_models)  # noqa: F401
