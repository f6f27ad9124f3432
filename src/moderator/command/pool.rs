//! The copies of the program, one per lane, and which case goes where.
//!
//! A case enters the lane with the fewest cases in flight, below the window,
//! starting the lane's copy when it has none (or its copy failed). When a copy
//! fails with several cases in flight, its lane is reserved for them: they are
//! asked again one at a time, alone on a fresh copy, before any other case
//! enters the lane.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::{Notify, Semaphore, oneshot};

use super::copy::{Copy, Delivery, Launcher};
use crate::moderator::{AttemptError, ModerationRequest, Verdict};

/// Every lane of the target, and how to start copies.
pub(super) struct Pool {
    lanes: Mutex<Vec<Lane>>,
    /// Wakes cases waiting for room in a lane.
    room: Arc<Notify>,
    /// Cases written ahead to one copy, at most.
    window: usize,
    launcher: Launcher,
}

struct Lane {
    copy: Option<Copy>,
    /// Cases of a failed copy still to be asked alone here; while any are,
    /// no other case enters the lane.
    reserved: usize,
    /// Held by the case being asked alone.
    alone: Arc<Semaphore>,
}

impl Lane {
    fn in_flight(&self) -> usize {
        match &self.copy {
            Some(copy) if !copy.is_dead() => copy.in_flight(),
            _ => 0,
        }
    }

    /// The lane's copy, started afresh when it has none or it failed.
    fn running_copy(&mut self, pool: &Arc<Pool>, index: usize) -> Result<&Copy, AttemptError> {
        if self.copy.as_ref().is_none_or(Copy::is_dead) {
            // Dropping a failed copy kills what is left of it.
            self.copy = None;
            let copy = Copy::start(&pool.launcher, Arc::downgrade(pool), index, Arc::clone(&pool.room))?;
            self.copy = Some(copy);
        }
        Ok(self.copy.as_ref().expect("the lane's copy was just set"))
    }
}

/// A case's turn to be asked again alone on a lane; dropping it frees the lane
/// for other cases once every reserved case has had its turn.
pub(super) struct Reservation {
    pool: Weak<Pool>,
    lane: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            let mut lanes = pool.lock_lanes();
            let lane = &mut lanes[self.lane];
            lane.reserved = lane.reserved.saturating_sub(1);
            if lane.reserved == 0 {
                pool.room.notify_waiters();
            }
        }
    }
}

impl Pool {
    pub(super) fn new(processes: usize, window: usize, launcher: Launcher) -> Arc<Self> {
        let lanes = (0..processes.max(1))
            .map(|_| Lane {
                copy: None,
                reserved: 0,
                alone: Arc::new(Semaphore::new(1)),
            })
            .collect();
        Arc::new(Pool {
            lanes: Mutex::new(lanes),
            room: Arc::new(Notify::new()),
            window: window.max(1),
            launcher,
        })
    }

    fn lock_lanes(&self) -> MutexGuard<'_, Vec<Lane>> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the program about one case: written ahead with others, and asked
    /// again alone when a copy fails with others in flight.
    pub(super) async fn ask(self: &Arc<Self>, request: &ModerationRequest<'_>) -> Result<Verdict, AttemptError> {
        let mut alone: Option<Reservation> = None;
        loop {
            let delivery = match alone.take() {
                None => self.admit(request).await?.await,
                Some(reservation) => self.ask_alone(reservation, request).await?,
            };
            match delivery {
                Ok(Delivery::Answer(result)) => return result,
                Ok(Delivery::AskAlone(reservation)) => alone = Some(reservation),
                Err(_) => {
                    return Err(AttemptError::transient(
                        "the copy of the program was retired before it answered",
                    ));
                }
            }
        }
    }

    /// Writes the request to the least busy lane with room, waiting for room.
    async fn admit(
        self: &Arc<Self>,
        request: &ModerationRequest<'_>,
    ) -> Result<oneshot::Receiver<Delivery>, AttemptError> {
        loop {
            let room = self.room.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            {
                let mut lanes = self.lock_lanes();
                let chosen = lanes
                    .iter()
                    .enumerate()
                    .filter(|(_, lane)| lane.reserved == 0)
                    .map(|(index, lane)| (index, lane.in_flight()))
                    .filter(|&(_, in_flight)| in_flight < self.window)
                    .min_by_key(|&(_, in_flight)| in_flight);
                if let Some((index, _)) = chosen {
                    if let Some(receiver) = lanes[index].running_copy(self, index)?.send(request)? {
                        return Ok(receiver);
                    }
                    continue;
                }
            }
            room.await;
        }
    }

    /// Writes the request alone to the reserved lane's copy, once it is this
    /// case's turn; the turn ends with the answer.
    async fn ask_alone(
        self: &Arc<Self>,
        reservation: Reservation,
        request: &ModerationRequest<'_>,
    ) -> Result<Result<Delivery, oneshot::error::RecvError>, AttemptError> {
        let index = reservation.lane;
        let turn = Arc::clone(&self.lock_lanes()[index].alone);
        let _turn = turn
            .acquire_owned()
            .await
            .map_err(|_| AttemptError::permanent("the command target was shut down"))?;
        let receiver = loop {
            let mut lanes = self.lock_lanes();
            let lane = &mut lanes[index];
            // Cases still in flight here have no caller any more (they were
            // stopped): a fresh copy, so that this case is truly alone.
            if lane.in_flight() > 0 {
                lane.copy = None;
            }
            if let Some(receiver) = lane.running_copy(self, index)?.send(request)? {
                break receiver;
            }
        };
        let delivery = receiver.await;
        drop(reservation);
        Ok(delivery)
    }

    /// Runs `mark_dead` (which stops a lane's copy admitting cases and says how
    /// many are in flight) under the lanes' lock, and reserves the lane for
    /// those cases when there are several.
    pub(super) fn reserve_after(self: &Arc<Self>, index: usize, mark_dead: impl FnOnce() -> usize) -> Vec<Reservation> {
        let mut lanes = self.lock_lanes();
        let in_flight = mark_dead();
        if in_flight < 2 {
            return Vec::new();
        }
        lanes[index].reserved += in_flight;
        drop(lanes);
        (0..in_flight)
            .map(|_| Reservation {
                pool: Arc::downgrade(self),
                lane: index,
            })
            .collect()
    }
}
