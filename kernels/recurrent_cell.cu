#include "kernels/device_backend.h"
#include "kernels/recurrent_cell.cuh"

namespace ad::AD_BACKEND {

void recurrent_cell_forward(RecurrentCell cell, const float* gx, const float* gh, const float* b_ih,
                            const float* b_hh, const float* h_prev, const float* c_prev, float* h, float* c,
                            float* saved, int64_t B, int64_t Hd) {
  DeviceLauncher l;
  launch_recurrent_cell_forward(l, cell, gx, gh, b_ih, b_hh, h_prev, c_prev, h, c, saved, B, Hd);
}

void recurrent_cell_backward(RecurrentCell cell, const float* saved, const float* h_prev, const float* c_prev,
                             const float* c, const float* dout, float* dh_rec, float* dc, float* dgx, float* dgh,
                             int64_t B, int64_t Hd) {
  DeviceLauncher l;
  launch_recurrent_cell_backward(l, cell, saved, h_prev, c_prev, c, dout, dh_rec, dc, dgx, dgh, B, Hd);
}

}  // namespace ad::AD_BACKEND
