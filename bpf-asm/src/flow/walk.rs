//! The data flow, as the kernel's `do_check` walks it: a forward analysis
//! over the reachable instructions of each function, with states kept at
//! join points, branch edges pruned or promised by what the kernel knows,
//! and the register, `exit` and stack errors it proves.

use super::*;

/// What a function's exits return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Summary {
    pub(super) r0: Val,
    /// Some exit is reached on a path the kernel surely walks.
    pub(super) sure: bool,
    /// Some exit is reached on a path that is not suspect.
    pub(super) clean: bool,
    pub(super) r0_unset_sure: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    Plain,
    /// r6 at `ldabs`/`ldind`.
    Ctx,
}

/// What the last walk of a stored block (and of the blocks with one way
/// in that it leads to) found. Reported only once the fixed point is
/// reached: a later walk, from a state joined with more paths, replaces
/// it, so what counts is the walk from the block's final state.
#[derive(Default)]
pub(super) struct Found {
    /// Statement, key, operand, message, as for [`Diag`].
    errs: Vec<(u32, u32, Option<Role>, String)>,
    /// The encoder's [`OnWalk`] errors (by index) at surely walked
    /// statements.
    walked: Vec<u32>,
    /// (function, depth) of `r10`-relative accesses on surely walked paths.
    frames: Vec<(usize, i64)>,
    /// `call local`s on surely walked paths: (caller, callee, instruction).
    calls: Vec<(usize, usize, usize)>,
}

pub(super) struct Walk<'p, 'a, S> {
    pub(super) p: &'p Prog<'a, S>,
    /// First instruction of each block, and `ins.len()` at the end.
    pub(super) block_first: Vec<u32>,
    /// Per instruction: its block.
    pub(super) block_of: Vec<u32>,
    /// Whether the block keeps its entry state: a join point, a function
    /// entry or a call. A block with one way in is walked straight from
    /// its predecessor instead.
    pub(super) stored: Vec<bool>,
    pub(super) states: Vec<Option<Box<State>>>,
    /// Blocks with one way in, to walk next.
    pub(super) pending: Vec<(u32, State)>,
    pub(super) visits: Vec<u32>,
    pub(super) queue: BinaryHeap<Reverse<u32>>,
    pub(super) queued: Vec<bool>,
    pub(super) summaries: Vec<Option<Summary>>,
    /// Per function: how often its summary changed.
    pub(super) summary_changes: Vec<u32>,
    /// Per function: the blocks ending in a `call local` to it.
    pub(super) callers: Vec<Vec<u32>>,
    /// The fixed point is reached: the blocks walked again only to report
    /// (see `stale`) no longer join into stored states or change summaries.
    pub(super) settled: bool,
    /// Per stored block: what its last walk found.
    pub(super) found: Vec<Option<Box<Found>>>,
    /// The stored block whose walk is under way.
    pub(super) root: usize,
    /// Walks of stored blocks so far: each has its number.
    pub(super) walks: u32,
    /// Per stored block: the number of its last walk.
    pub(super) root_walk: Vec<u32>,
    /// Per block: the stored block whose walks walk it.
    pub(super) block_root: Vec<u32>,
    /// Per instruction: the walk that set its `visits_seen` bits (bits of
    /// an older walk of its stored block are out of date).
    pub(super) seen_walk: Vec<u32>,
    /// Per stored block: its state changed after its last walk in what
    /// only the messages say (`State::clobbered_by`), so it is walked once
    /// more at the end.
    pub(super) stale: Vec<bool>,
    /// Instructions the fixed point may still walk (a guard: it converges
    /// long before).
    pub(super) budget: u64,
    pub(super) diag: Diag,
    /// Per function: the deepest `r10`-relative access on a surely walked
    /// path (the kernel's `stack_depth` is at least this).
    pub(super) frame_depth: Vec<i64>,
    /// `call local`s on surely walked paths: (caller, callee, instruction).
    pub(super) walked_calls: Vec<(usize, usize, usize)>,
    /// Per instruction, from the last walk of its stored block: `SEEN`,
    /// `WALKED` and which edges of a comparison some visit followed
    /// (`FALL`, `TARGET`).
    pub(super) visits_seen: Vec<u8>,
}

const SEEN: u8 = 1;
const WALKED: u8 = 2;
const FALL: u8 = 4;
const TARGET: u8 = 8;

impl<'p, 'a, S> Walk<'p, 'a, S> {
    pub(super) fn new(p: &'p Prog<'a, S>, diag: Diag) -> Self {
        let m = p.ins.len();
        let mut leader = vec![false; m];
        leader[0] = true;
        for f in &p.funcs {
            if let Some(i) = p.ins_at(i64::from(f.start)) {
                leader[i as usize] = true;
            }
        }
        for (i, x) in p.ins.iter().enumerate() {
            if let Flow::Jump(t) | Flow::Cond(t) | Flow::CallLocal(t) | Flow::Func(t) = x.flow
                && let Some(j) = p.ins_at(t)
            {
                leader[j as usize] = true;
            }
            if !matches!(x.flow, Flow::Next | Flow::Call) && i + 1 < m {
                leader[i + 1] = true;
            }
        }
        let mut block_first = Vec::new();
        let mut block_of = Vec::with_capacity(m);
        for (i, &l) in leader.iter().enumerate() {
            if l {
                block_first.push(i as u32);
            }
            block_of.push(block_first.len() as u32 - 1);
        }
        let blocks = block_first.len();
        block_first.push(m as u32);
        let mut callers = vec![Vec::new(); p.funcs.len()];
        let mut preds = vec![0u32; blocks];
        let mut stored = vec![false; blocks];
        stored[0] = true;
        preds[0] += 1;
        for (i, x) in p.ins.iter().enumerate() {
            let b = block_of[i] as usize;
            if let Flow::CallLocal(t) = x.flow {
                stored[b] = true;
                if let Ok(fi) = p.funcs.binary_search_by_key(&t, |f| i64::from(f.start)) {
                    callers[fi].push(b as u32);
                }
            }
            if block_first[b + 1] as usize != i + 1 {
                continue;
            }
            let fall = p.ins_at(p.fall_slot(i));
            let (one, two) = match x.flow {
                Flow::Next | Flow::Call => (fall, None),
                Flow::Jump(t) => (p.ins_at(t), None),
                Flow::Cond(t) | Flow::CallLocal(t) | Flow::Func(t) => (fall, p.ins_at(t)),
                Flow::Exit | Flow::Opaque => (None, None),
            };
            for j in [one, two].into_iter().flatten() {
                preds[block_of[j as usize] as usize] += 1;
            }
        }
        for f in &p.funcs {
            if let Some(i) = p.ins_at(i64::from(f.start)) {
                stored[block_of[i as usize] as usize] = true;
            }
        }
        for (st, &n) in stored.iter_mut().zip(&preds) {
            *st |= n != 1;
        }
        Walk {
            p,
            block_first,
            block_of,
            stored,
            states: vec![None; blocks],
            pending: Vec::new(),
            visits: vec![0; blocks],
            queue: BinaryHeap::new(),
            queued: vec![false; blocks],
            summaries: vec![None; p.funcs.len()],
            summary_changes: vec![0; p.funcs.len()],
            callers,
            settled: false,
            found: (0..blocks).map(|_| None).collect(),
            root: 0,
            walks: 0,
            root_walk: vec![0; blocks],
            block_root: vec![NONE; blocks],
            seen_walk: vec![0; m],
            stale: vec![false; blocks],
            budget: 64 * m as u64 + 1_000_000,
            diag,
            frame_depth: vec![0; p.funcs.len()],
            walked_calls: Vec::new(),
            visits_seen: vec![0; m],
        }
    }

    pub(super) fn run(mut self) -> Diag {
        let structural = self.diag.errs.len();
        self.edge(0, State::entry_main(self.p.unpriv));
        loop {
            if self.budget == 0 {
                // Not converged: promise nothing about registers.
                self.diag.errs.truncate(structural);
                return self.diag;
            }
            if let Some((b, st)) = self.pending.pop() {
                self.block(b as usize, st);
            } else if let Some(Reverse(b)) = self.queue.pop() {
                let b = b as usize;
                self.queued[b] = false;
                if let Some(st) = self.states[b].as_deref().cloned() {
                    self.begin(b);
                    self.block(b, st);
                }
            } else {
                break;
            }
        }
        self.settled = true;
        for b in 0..self.states.len() {
            if !self.stale[b] {
                continue;
            }
            if let Some(st) = self.states[b].as_deref().cloned() {
                self.begin(b);
                self.block(b, st);
                while let Some((b, st)) = self.pending.pop() {
                    self.block(b as usize, st);
                }
            }
        }
        self.report_found();
        self.call_chains();
        self.endless_loops();
        self.diag
    }

    /// Starts a walk of stored block `b`, forgetting what its last one
    /// found.
    fn begin(&mut self, b: usize) {
        self.root = b;
        self.walks += 1;
        self.root_walk[b] = self.walks;
        self.found[b] = None;
        self.stale[b] = false;
    }

    /// What the walk under way found.
    fn found(&mut self) -> &mut Found {
        self.found[self.root].get_or_insert_default()
    }

    /// Notes that the walk under way got to instruction `i` (and how).
    fn mark(&mut self, i: usize, bits: u8) {
        if self.seen_walk[i] != self.walks {
            self.seen_walk[i] = self.walks;
            self.visits_seen[i] = 0;
        }
        self.visits_seen[i] |= bits;
    }

    /// Reports what the last walk of each block found, in the order of the
    /// blocks (and, within a walk, in the order found), and drops the
    /// marks of older walks.
    fn report_found(&mut self) {
        for b in 0..self.found.len() {
            let Some(f) = self.found[b].take() else {
                continue;
            };
            for (stmt, key, at, msg) in f.errs {
                self.diag.push_at(stmt, key, at, msg);
            }
            self.diag.walked.extend(f.walked);
            for (func, depth) in f.frames {
                self.frame_depth[func] = self.frame_depth[func].max(depth);
            }
            self.walked_calls.extend(f.calls);
        }
        for (i, bits) in self.visits_seen.iter_mut().enumerate() {
            let root = self.block_root[self.block_of[i] as usize];
            let current = root != NONE && self.seen_walk[i] == self.root_walk[root as usize];
            if !current {
                *bits = 0;
            }
        }
    }

    pub(super) fn enqueue(&mut self, b: usize) {
        if !self.queued[b] {
            self.queued[b] = true;
            self.queue.push(Reverse(b as u32));
        }
    }

    /// Flows `st` into the block starting at `slot`.
    /// Follows an edge to `slot` with `st`; whether the state there may
    /// have changed (a function entry: its summary may be stale).
    pub(super) fn edge(&mut self, slot: i64, st: State) -> bool {
        let Some(i) = self.p.ins_at(slot) else {
            return false;
        };
        let b = self.block_of[i as usize] as usize;
        if self.block_first[b] != i {
            return false;
        }
        if !self.stored[b] {
            self.pending.push((b as u32, st));
            return true;
        }
        if self.settled {
            return false;
        }
        match &mut self.states[b] {
            None => {
                self.states[b] = Some(Box::new(st));
                self.enqueue(b);
                true
            }
            Some(old) => {
                self.visits[b] += 1;
                let named = old.clobbered_by;
                if old.join(&st, self.visits[b] > WIDEN_AFTER) {
                    self.enqueue(b);
                    true
                } else {
                    if old.clobbered_by != named {
                        self.stale[b] = true;
                    }
                    false
                }
            }
        }
    }

    pub(super) fn block(&mut self, b: usize, mut st: State) {
        let first = self.block_first[b] as usize;
        let end = self.block_first[b + 1] as usize;
        self.block_root[b] = self.root as u32;
        self.budget = self.budget.saturating_sub((end - first) as u64);
        for i in first..end {
            if !self.step(i, &mut st, i + 1 == end) {
                return;
            }
        }
    }

    pub(super) fn report(&mut self, i: usize, key: u32, msg: String) {
        self.report_at(i, key, None, msg);
    }

    /// Reports at the operand of the instruction that holds `at`.
    pub(super) fn report_at(&mut self, i: usize, key: u32, at: Option<Role>, msg: String) {
        let stmt = self.p.ins[i].stmt;
        self.found().errs.push((stmt, key, at, msg));
    }

    /// Reads register `r` (the operand `role`), reporting it if unset; the
    /// value read counts as set (a path where it was not is refused there),
    /// so what is computed from it is not reported again.
    pub(super) fn read(&mut self, i: usize, st: &State, role: Role, r: u8, why: Why) -> Val {
        let v = st.reg(r);
        if v.is_set() || r > 10 {
            return v;
        }
        let bit = 1u16 << r;
        let must = v.init == Init::Unset;
        if (must && !st.suspect) || st.unset_sure & bit != 0 {
            let text = self.p.text(self.p.ins[i].stmt);
            let what = if must {
                "which no path has written"
            } else {
                "which is not written on every path reaching it"
            };
            let clobbered = st.clobbered & bit != 0;
            let msg = if why == Why::Ctx && r == 6 {
                format!(
                    "`{text}` reads r6, {what}: legacy packet loads need the context in r6: \
                     start with `mov r6, r1`"
                )
            } else if clobbered && (1..=5).contains(&r) {
                let by = self.p.ins.get(st.clobbered_by as usize).map(|c| c.stmt);
                match by.and_then(|c| self.p.stmts.get(c as usize)) {
                    Some(c) => {
                        let some = if must { "" } else { "on some path, " };
                        format!(
                            "`{text}` reads r{r}, but {some}r{r} was clobbered by `{}` at line \
                             {}: `call`, `ldabs*` and `ldind*` clobber r1–r5 (r0 holds the \
                             result); save it in r6–r9 before that instruction",
                            c.text, c.line
                        )
                    }
                    None => format!(
                        "`{text}` reads r{r}, {what}: `call`, `ldabs*` and `ldind*` clobber \
                         r1–r5 (r0 holds the result); keep values that must survive a call in \
                         r6–r9"
                    ),
                }
            } else if clobbered && r == 0 {
                format!(
                    "`{text}` reads r0, {what}: the function called with `call local` returns \
                     without setting r0"
                )
            } else {
                format!(
                    "`{text}` reads r{r}, {what}; at entry only r1 (context) and r10 (frame \
                     pointer) are set, and calls clobber r1–r5"
                )
            };
            let at = matches!(role, Role::Dst | Role::Src).then_some(role);
            self.report_at(i, u32::from(r), at, msg);
        }
        Val {
            init: Init::Set,
            lossy: v.lossy || v.init == Init::Maybe,
            ..v.strip()
        }
    }

    /// A read of `size` bytes at `base + off`.
    pub(super) fn stack_read(
        &mut self,
        i: usize,
        st: &State,
        base: Val,
        off: Option<i64>,
        size: u8,
    ) {
        let (Some(o), Some(f)) = (base.stack_off(), off) else {
            return;
        };
        let Some(at) = o.checked_add(f) else { return };
        let Some((a, b)) = stack_bytes(at, size) else {
            return;
        };
        let Some(stack) = st.stack.as_ref() else {
            return;
        };
        let (never, sure) = stack.status(a, b);
        let never = never && !st.suspect;
        if never || sure {
            let text = self.p.text(self.p.ins[i].stmt);
            let what = if never {
                "which no path has written"
            } else {
                "which is not written on every path"
            };
            self.report(
                i,
                KEY_STACK,
                format!(
                    "`{text}` reads stack [r10 - {}], {what}; unprivileged loaders may not read \
                     uninitialised stack (write it first)",
                    -at
                ),
            );
        }
    }

    /// A write of `size` bytes at `base + off` (of `val`, if known).
    pub(super) fn stack_write(
        st: &mut State,
        base: Val,
        off: Option<i64>,
        size: u8,
        val: Option<Val>,
    ) {
        match (base.stack_off(), off) {
            (Some(o), Some(f)) => {
                let Some(at) = o.checked_add(f) else { return };
                if let Some((a, b)) = stack_bytes(at, size) {
                    if let Some(stack) = st.stack.as_mut() {
                        stack.write(a, b);
                    }
                    st.spill(at, size, val);
                }
            }
            _ if base.stack_any() => st.stack_havoc(),
            _ => {}
        }
    }

    /// One instruction; whether the block goes on.
    pub(super) fn step(&mut self, i: usize, st: &mut State, last: bool) -> bool {
        let p = self.p;
        let x = p.ins[i];
        let sem = x.sem;
        if Self::walked(st) {
            self.mark(i, SEEN | WALKED);
            if !p.on_walk.is_empty() {
                self.walked_rules(x.stmt);
            }
            self.note_frame_use(i, sem);
        } else {
            self.mark(i, SEEN);
        }
        if let Some(f) = sem.form {
            self.effect(i, f, sem, st);
        } else {
            for r in 0..10 {
                st.write(r, Val::opaque(true, true));
            }
            st.stack_havoc();
        }

        let fall = p.fall_slot(i);
        match x.flow {
            Flow::Next | Flow::Call => {
                if last {
                    self.edge(fall, take(st));
                }
                !last
            }
            Flow::Opaque => false,
            Flow::Exit => {
                if sem.op() == Some(Op::Exit) {
                    self.exit(i, st);
                }
                false
            }
            Flow::Jump(t) => {
                self.edge(t, take(st));
                false
            }
            Flow::Cond(t) => {
                if let (Some(f), Some(Op::Jmp(op))) = (sem.form, sem.op()) {
                    let cmp = Cmp { op, wide: f.wide };
                    self.branch(i, st, cmp, sem.dst, sem.operand(), (fall, t));
                } else {
                    self.branch_edge(i, false, (fall, t), st.clone());
                    self.branch_edge(i, true, (fall, t), take(st));
                }
                false
            }
            Flow::CallLocal(t) => {
                self.call_local(st, x.slot, t, fall);
                false
            }
            Flow::Func(t) => {
                // A callback: run only if passed to a helper, so never sure.
                let args = [Val::opaque(false, true); 5];
                let entry = State::entry_func(st, false, args);
                self.edge(fall, take(st));
                self.edge(t, entry);
                false
            }
        }
    }

    /// What an instruction does to registers and the stack: it reads the
    /// registers its row lists (in order), computes a value by its
    /// operation, clobbers r1–r5 if the row says so, and writes the value to
    /// the registers the row lists.
    fn effect(&mut self, i: usize, f: &'static Form, sem: Sem, st: &mut State) {
        let slot = self.p.ins[i].slot;
        // Jumps read their operands in `branch`, `exit` its r0 in `exit`.
        // Only `dst` and `src` are used; other reads are for their errors.
        let (mut dst, mut src) = (Val::UNSET, Val::UNSET);
        if !matches!(f.op, Op::Jmp(_) | Op::Exit) {
            for &role in f.reads {
                let r = sem.reg(role);
                let why = if role == Role::R(6) && matches!(f.op, Op::LdAbs | Op::LdInd) {
                    Why::Ctx
                } else {
                    Why::Plain
                };
                let v = self.read(i, st, role, r, why);
                if r == sem.dst {
                    dst = v;
                }
                if r == sem.src {
                    src = v;
                }
            }
        }
        let size = f.size;
        let value = match f.op {
            Op::Alu(op) => {
                let a = (op != AluOp::Mov).then_some(dst);
                let b = match sem.operand() {
                    Src::Reg(_) => src,
                    Src::Imm(Some(imm)) => Val::konst(imm_operand(imm, f.wide)),
                    Src::Imm(None) => Val::UNKNOWN,
                };
                let by_reg = matches!(sem.operand(), Src::Reg(_));
                Some(self.alu_effect(i, st, f, op, a, b, by_reg))
            }
            Op::MovSx => {
                let bits = u8::try_from(f.off).unwrap_or(0);
                Some(match src.konst_of() {
                    Some(c) if matches!(bits, 8 | 16 | 32) => {
                        let sh = 64 - u32::from(bits);
                        let s = (((c << sh) as i64) >> sh) as u64;
                        Val::konst(if f.wide { s } else { u64::from(s as u32) })
                    }
                    // It may be a copy (when no sign is extended).
                    _ => Val::bounded(0, if f.wide { u64::MAX } else { U32 }, slot, true)
                        .with_lossy(true)
                        .with_scalar(src.is_scalar()),
                })
            }
            // The kernel bounds these (a 16-bit swap is at most 0xffff, a
            // negated byte at least -255): more than followed here.
            Op::Neg | Op::Endian(_) => Some(
                Val::fresh(slot, u64::MAX)
                    .with_lossy(true)
                    .with_scalar(dst.is_scalar()),
            ),
            Op::AddrSpaceCast => Some(Val::fresh(slot, u64::MAX).with_lossy(src.vague())),
            Op::Lddw(pseudo) => Some(match pseudo {
                None => match (sem.imm, sem.hi) {
                    (Some(lo), Some(hi)) => {
                        Val::konst((u64::from(hi as u32) << 32) | u64::from(lo as u32))
                    }
                    _ => Val::fresh(slot, u64::MAX),
                },
                Some(Pseudo::MapFd) if self.p.map_at.contains_key(&slot) => {
                    Val::map_ptr(self.p.map_at[&slot])
                }
                Some(p) if p.is_pointer() => Val::ptr(OTHER, None),
                Some(_) => Val::fresh(slot, u64::MAX),
            }),
            Op::LdAbs | Op::LdInd => {
                self.legacy_in_function(i, st);
                let hi = match size {
                    1 => 0xff,
                    2 => 0xffff,
                    _ => u32::MAX,
                };
                Some(Val::range(0, hi, slot, false))
            }
            Op::Load | Op::LoadAcquire => {
                self.partial_fill(i, st, src, sem.off, size);
                self.mem_access(i, st, src, sem.off, size, Role::Src, false);
                self.ctx_access(i, st, src, sem.off, size, Role::Src, false);
                Some(self.load(i, st, src, sem.off, size, f.signed))
            }
            Op::Store | Op::StoreRelease => {
                if let Src::Reg(_) = sem.operand() {
                    self.partial_spill(i, st, dst, src, sem.off, size);
                }
                self.mem_access(i, st, dst, sem.off, size, Role::Dst, true);
                self.ctx_access(i, st, dst, sem.off, size, Role::Dst, true);
                let v = match sem.operand() {
                    Src::Reg(_) => Some(src),
                    Src::Imm(imm) => imm.map(|c| Val::konst(imm_operand(c, true))),
                };
                Self::stack_write(st, dst, sem.off, size, v);
                None
            }
            Op::Atomic { .. } => {
                let b = dst;
                self.atomic_target(i, st, b);
                self.mem_access(i, st, b, sem.off, size, Role::Dst, true);
                self.stack_read(i, st, b, sem.off, size);
                Self::stack_write(st, b, sem.off, size, None);
                let loaded = if size < 8 {
                    Val::bounded(0, U32, slot, b.stack_any())
                } else if b.stack_any() {
                    Val::opaque(true, true)
                } else {
                    Val::fresh(slot, u64::MAX)
                };
                let typed = matches!(b.k, K::Ptr { .. } | K::Value { .. });
                Some(loaded.with_lossy(b.stack_any() || typed))
            }
            Op::Call | Op::CallKfunc => {
                let helper = sem.helper();
                let mut lookup = None;
                if let Some(name) = helper {
                    self.helper_allowed(i, name, st);
                }
                let pr = helper.and_then(proto);
                if let Some(pr) = pr {
                    self.typed_args(i, pr, st);
                    self.release(pr, st);
                    self.map_args(i, pr, st);
                    self.mem_args(i, pr, st);
                    lookup = lookup_result(pr, st, slot, self.p.maps);
                }
                st.args_touch_stack();
                // Some helpers change the packet, and the kernel then
                // forgets every packet pointer (as do kfuncs, not followed).
                match (helper, pr) {
                    (None, _) => st.forget_packet(),
                    (_, Some(pr)) if pr.changes_packet => st.drop_packet(slot),
                    _ => {}
                }
                if f.op == Op::CallKfunc {
                    // `bpf_throw` does not return: the kernel may stop here.
                    st.make_unsure();
                }
                // The kernel knows the range of some helpers' results and
                // the type of kfuncs'.
                let known = match f.op {
                    Op::Call => pr.is_some_and(|p| p.ranged()),
                    _ => true,
                };
                // Helpers whose prototype returns a plain integer
                // (`RET_INTEGER`): the kernel holds the result as a number.
                let integer = pr.is_some_and(|p| p.integer());
                if let Some(v) = lookup {
                    // An earlier result of this call is another value now.
                    st.forget_values(Some(slot), true);
                    if matches!(
                        v.k,
                        K::Value {
                            map: SOCKET | RINGBUF_RECORD,
                            ..
                        }
                    ) {
                        st.refs |= ref_bit(slot);
                    }
                    Some(v)
                } else if integer && !known {
                    // Any number to the kernel, so it cannot rule out any
                    // of the low 32-bit values either.
                    Some(Val::unknown_number(slot))
                } else {
                    Some(
                        Val::fresh(slot, u64::MAX)
                            .with_lossy(known)
                            .with_scalar(integer),
                    )
                }
            }
            // Calls to BPF functions return through `call_local`.
            Op::CallLocal => return,
            Op::Jmp(_) | Op::MayGoto | Op::Ja | Op::Exit | Op::Raw => None,
        };
        if f.clobbers_args {
            st.clobber_args(i as u32);
        }
        if let Some(v) = value {
            for &role in f.writes {
                st.write(sem.reg(role), v);
            }
        }
    }

    /// What a surely walked instruction tells of the kernel's view of the
    /// stack frames: how deep its function's frame reaches, and which
    /// functions it calls.
    fn note_frame_use(&mut self, i: usize, sem: Sem) {
        let x = self.p.ins[i];
        let func = self.p.func_of(x.slot);
        if let Flow::CallLocal(t) = x.flow
            && let Ok(callee) = self
                .p
                .funcs
                .binary_search_by_key(&t, |f| i64::from(f.start))
        {
            self.found().calls.push((func, callee, i));
        }
        let base = match sem.op() {
            Some(Op::Load | Op::LoadAcquire) => sem.src,
            Some(Op::Store | Op::StoreRelease | Op::Atomic { .. }) => sem.dst,
            _ => return,
        };
        if base == 10
            && let Some(off) = sem.off
            && (-rules::STACK_SIZE..0).contains(&off)
        {
            self.found().frames.push((func, -off));
        }
    }

    /// The kernel's `check_max_stack_depth`, on the calls it surely walks:
    /// along a chain of calls the frames (each rounded up to 16 bytes, the
    /// least the kernel rounds to) may not add up to more than 512 bytes,
    /// and a chain may not hold more than 8 frames.
    fn call_chains(&mut self) {
        // Program types whose JIT may give programs a private stack per
        // function are judged by the kernel alone.
        if self.p.table.is_none() || self.walked_calls.is_empty() {
            return;
        }
        let frame = |d: i64| (d + 15) / 16 * 16;
        let mut calls = std::mem::take(&mut self.walked_calls);
        calls.sort_unstable();
        calls.dedup();
        // Depth-first from the entry; a path holds (function, the call
        // that entered it).
        let mut reported = HashSet::new();
        let mut stack: Vec<Vec<(usize, usize)>> = vec![vec![(0, NONE as usize)]];
        let mut steps = 0u32;
        while let Some(path) = stack.pop() {
            steps += 1;
            if steps > 100_000 {
                break;
            }
            let total: i64 = path.iter().map(|&(g, _)| frame(self.frame_depth[g])).sum();
            let &(f, last_call) = path.last().unwrap_or(&(0, NONE as usize));
            let too_deep = total > rules::STACK_SIZE || path.len() > MAX_FRAMES;
            if too_deep && last_call != NONE as usize && reported.insert(last_call) {
                let text = self.p.text(self.p.ins[last_call].stmt).to_owned();
                let names: Vec<String> = path
                    .iter()
                    .map(|&(g, _)| format!("{} bytes", self.frame_depth[g]))
                    .collect();
                let msg = if total > rules::STACK_SIZE {
                    format!(
                        "`{text}` makes a chain of {} frames using {total} bytes of stack \
                         (frames of {}, each rounded up to 16): the kernel allows 512 bytes \
                         for all the frames of a call chain together; use less stack in the \
                         functions, or call one function after the other instead of from \
                         within",
                        path.len(),
                        names.join(", ")
                    )
                } else {
                    format!(
                        "`{text}` makes a chain of {} frames: the kernel allows at most 8 \
                         (the entry and 7 nested `call local`s)",
                        path.len()
                    )
                };
                self.diag.push(self.p.ins[last_call].stmt, KEY_FRAMES, msg);
            }
            if too_deep {
                continue;
            }
            let from = calls.partition_point(|c| c.0 < f);
            for &(_, callee, at) in calls[from..].iter().take_while(|c| c.0 == f) {
                // Recursion is the kernel's to judge.
                if path.iter().any(|&(g, _)| g == callee) {
                    continue;
                }
                let mut next = path.clone();
                next.push((callee, at));
                stack.push(next);
            }
        }
    }

    /// Marks the encoder's errors at `stmt` as found: the kernel walks it.
    fn walked_rules(&mut self, stmt: u32) {
        let all = self.p.on_walk;
        let from = all.partition_point(|e| e.stmt < stmt);
        for (k, e) in all.iter().enumerate().skip(from) {
            if e.stmt != stmt {
                break;
            }
            self.found().walked.push(k as u32);
        }
    }

    /// Whether the kernel surely verifies the instruction `st` reaches (if
    /// it gets that far): a path it surely walks, or only paths whose
    /// branches it decides as the walk here does.
    fn walked(st: &State) -> bool {
        !st.suspect || st.sure
    }

    /// A helper the program type may not call (its `*_func_proto` has no
    /// entry for it: "program of this type cannot use helper").
    fn helper_allowed(&mut self, i: usize, name: &str, st: &State) {
        let Some(t) = self.p.table else { return };
        if t.may_call(name) || !Self::walked(st) {
            return;
        }
        let text = self.p.text(self.p.ins[i].stmt);
        let others: Vec<String> = progtype::TABLES
            .iter()
            .filter(|o| o.may_call(name))
            .map(|o| format!("`{}`", o.name()))
            .collect();
        let who = if others.is_empty() {
            format!(
                "none of {} may call it",
                progtype::TABLES
                    .iter()
                    .map(|o| format!("`{}`", o.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!("{} may call it", list_or(&others, "and"))
        };
        let near =
            crate::error::did_you_mean(&crate::error::nearest(name, t.helpers.iter().copied(), 2));
        self.report(
            i,
            KEY_HELPER,
            format!(
                "`{text}`: `{name}` is not available to {} ({}); {who}{near}",
                type_phrase(t),
                type_attr(t)
            ),
        );
    }

    /// A load or store through the unmodified context pointer that the
    /// program type's `*_is_valid_access` refuses, or one through a
    /// context pointer moved by a known offset (which the kernel refuses
    /// for every field: "dereference of modified ctx ptr").
    #[allow(clippy::too_many_arguments)]
    fn ctx_access(
        &mut self,
        i: usize,
        st: &State,
        base: Val,
        off: Option<i64>,
        size: u8,
        role: Role,
        write: bool,
    ) {
        let Some(t) = self.p.table else { return };
        let (Some(Some(moved)), Some(off)) = (base.ctx_off(), off) else {
            return;
        };
        if !Self::walked(st) {
            return;
        }
        let p = self.p;
        let text = p.text(p.ins[i].stmt);
        let r = p.ins[i].sem.reg(role);
        if moved != 0 {
            let at = moved.saturating_add(off);
            let fix = if (-32768..=32767).contains(&at) {
                format!(
                    ": keep the context pointer unmodified and put the offset in the \
                     instruction (`[r1 + {at}]`)"
                )
            } else {
                String::new()
            };
            self.report_at(
                i,
                KEY_CTX,
                Some(role),
                format!(
                    "`{text}` goes through r{r}, the context pointer moved by {moved}: the \
                     kernel refuses any context access through a modified context pointer{fix}"
                ),
            );
            return;
        }
        let Err(why) = t.access(off, size, write) else {
            return;
        };
        let (verb, noun) = if write {
            ("write", "writes")
        } else {
            ("read", "reads")
        };
        let ctx = t.ctx;
        let who = type_phrase(t);
        let attr = type_attr(t);
        let msg = match why {
            progtype::Refusal::Outside if off < 0 || off >= i64::from(t.ctx_size) => format!(
                "`{text}` {noun} offset {off} of the context, outside `struct {ctx}` ({} bytes)",
                t.ctx_size
            ),
            progtype::Refusal::Outside => format!(
                "`{text}` {noun} offset {off} of the context, padding of `struct {ctx}` that \
                     holds no field"
            ),
            progtype::Refusal::Misaligned(f) => format!(
                "`{text}` {noun} {size} bytes at offset {off}, not a multiple of {size}: \
                     context accesses must be aligned to their size; `{ctx}.{}` (offset {}) takes {}",
                f.name,
                f.off,
                f.describe(if write { f.write } else { f.read }.unwrap_or(progtype::Rule::Whole))
            ),
            progtype::Refusal::Field(f) => {
                let others: Vec<String> = progtype::TABLES
                    .iter()
                    .filter(|o| o.ctx == ctx && o.access(off, size, write).is_ok())
                    .map(|o| format!("`{}`", o.name()))
                    .collect();
                let others = if others.is_empty() {
                    String::new()
                } else {
                    format!("; {} may", list_or(&others, "and"))
                };
                let can: Vec<String> = t
                    .fields
                    .iter()
                    .filter(|g| if write { g.write } else { g.read }.is_some())
                    .map(|g| format!("`{}`", g.name))
                    .collect();
                let can = if can.is_empty() {
                    format!("; {who} may {verb} no field of the context")
                } else if write {
                    format!("; {who} may write {}", list_or(&can, "and"))
                } else {
                    String::new()
                };
                format!(
                    "`{text}` {noun} `{ctx}.{}` (offset {}), which {who} may not {verb} \
                     ({attr}){others}{can}",
                    f.name, f.off
                )
            }
            progtype::Refusal::Size(f) => {
                let rule = if write { f.write } else { f.read }.unwrap_or(progtype::Rule::Whole);
                let what = if f.ptr { "a pointer of " } else { "" };
                let fix = match (write, rule, f.elem) {
                    (false, progtype::Rule::Whole | progtype::Rule::Narrow, 1 | 2 | 4 | 8) => {
                        let sfx = match f.elem {
                            1 => "b",
                            2 => "h",
                            4 => "w",
                            _ => "dw",
                        };
                        let dst = p.ins[i].sem.dst;
                        let at = i64::from(f.off)
                            + (off - i64::from(f.off)) / i64::from(f.elem) * i64::from(f.elem);
                        format!(", e.g. `ldx{sfx} r{dst}, [r{r} + {at}]`")
                    }
                    _ => String::new(),
                };
                format!(
                    "`{text}` {noun} {size} bytes at offset {off}, in `{ctx}.{}` (offset {}, \
                     {what}{} bytes): {who} may {verb} it as {}",
                    f.name,
                    f.off,
                    f.size,
                    f.describe(rule)
                ) + &fix
            }
        };
        self.report_at(i, KEY_CTX, Some(role), msg);
    }

    /// A legacy packet load in a function called with `call local`: the
    /// kernel allows them only in the entry function of a program without
    /// BTF ("LD_ABS is not allowed in subprogs without BTF").
    fn legacy_in_function(&mut self, i: usize, st: &State) {
        let p = self.p;
        let f = p.func_of(p.ins[i].slot);
        if f == 0 || !Self::walked(st) {
            return;
        }
        let text = p.text(p.ins[i].stmt);
        self.report_at(
            i,
            KEY_FRAMES,
            None,
            format!(
                "`{text}` is a legacy packet load inside a function: the kernel allows them \
                 only in the program's entry function (without BTF); do the load there and \
                 pass the value, or use `skb_load_bytes`"
            ),
        );
    }

    /// A store of part of a pointer to the stack ("invalid size of register
    /// spill").
    fn partial_spill(
        &mut self,
        i: usize,
        st: &State,
        base: Val,
        v: Val,
        off: Option<i64>,
        size: u8,
    ) {
        if size >= 8 || base.stack_off().zip(off).is_none() || !Self::walked(st) {
            return;
        }
        if !(v.is_typed_ptr() || v.is_packet()) {
            return;
        }
        let what = self.ptr_words(v);
        let text = self.p.text(self.p.ins[i].stmt);
        let r = self.p.ins[i].sem.src;
        self.report_at(
            i,
            KEY_PTR,
            Some(Role::Src),
            format!(
                "`{text}` stores {size} of the 8 bytes of r{r}, {what}, on the stack: the \
                 kernel refuses a partial spill of a pointer; store all 8 bytes (`stxdw`) at \
                 an offset that is a multiple of 8"
            ),
        );
    }

    /// A load of part of a pointer spilled to the stack ("invalid size of
    /// register fill").
    fn partial_fill(&mut self, i: usize, st: &State, base: Val, off: Option<i64>, size: u8) {
        let Some(at) = base.stack_off().zip(off).map(|(o, f)| o + f) else {
            return;
        };
        if size >= 8 || !Self::walked(st) {
            return;
        }
        let Some(s) = st.spills.holding(at) else {
            return;
        };
        let spilled = s.val;
        if s.size != 8 || !(spilled.is_typed_ptr() || spilled.is_packet()) {
            return;
        }
        let what = self.ptr_words(spilled);
        let text = self.p.text(self.p.ins[i].stmt);
        let from = -i64::from(s.off);
        self.report_at(
            i,
            KEY_PTR,
            Some(Role::Src),
            format!(
                "`{text}` reads {size} of the 8 bytes at r10 - {from}, which hold {what} \
                 spilled there: the kernel refuses a partial fill of a spilled pointer; load \
                 all 8 bytes (`ldxdw`)"
            ),
        );
    }

    /// An atomic operation on memory the kernel refuses atomics on, for
    /// every program type: the context ("BPF_ATOMIC stores into R1 ctx is
    /// not allowed") and the packet ("... R2 pkt ...").
    fn atomic_target(&mut self, i: usize, st: &State, base: Val) {
        let (key, what, parts) = if self.p.table.is_some() && base.ctx_off().is_some() {
            (KEY_CTX, "the context", "the field")
        } else if base.is_packet() {
            (KEY_PTR, "the packet", "the bytes")
        } else {
            return;
        };
        if !Self::walked(st) {
            return;
        }
        let text = self.p.text(self.p.ins[i].stmt);
        self.report_at(
            i,
            key,
            Some(Role::Dst),
            format!(
                "`{text}` is an atomic operation on {what}: the kernel refuses atomics on \
                 {what}; load {parts}, compute, and store {} back",
                if parts == "the field" { "it" } else { "them" }
            ),
        );
    }

    /// The key and value arguments of the map helpers, when r1 is a declared
    /// map: on the stack they must lie inside it (`key` or `value` bytes,
    /// the declared sizes), and under `#![unprivileged]` be written.
    /// (`map_lookup_elem` returns a pointer to `value` bytes, or null: the
    /// result's typing belongs to the pointer checks.)
    fn map_args(&mut self, i: usize, pr: &Proto, st: &State) {
        let keys = pr.regs_of(Arg::Key).map(|r| (r, "key"));
        let args = keys.chain(pr.regs_of(Arg::Value).map(|r| (r, "value")));
        let Some(map) = st.regs[1].map_index().and_then(|m| self.p.maps.get(m)) else {
            return;
        };
        for (r, what) in args {
            let v = st.regs[usize::from(r)];
            let Some(off) = v.stack_off() else { continue };
            let size = i64::from(if what == "key" {
                map.key_size
            } else {
                map.value_size
            });
            if !rules::within_stack(off, size) {
                if st.sure {
                    let text = self.p.text(self.p.ins[i].stmt).to_owned();
                    self.report(
                        i,
                        KEY_MAP_ARG,
                        format!(
                            "`{text}`: the {what} of map `{}` is {size} bytes, so r{r} \
                             (r10 - {}) must point at least {size} bytes below r10: the \
                             kernel refuses a {what} that reaches outside the stack \
                             [r10 - 512, r10)",
                            map.name, -off
                        ),
                    );
                }
                continue;
            }
            // Byte by byte, so an error names the first unwritten byte.
            for at in 0..size {
                self.stack_read(i, st, v, Some(at), 1);
            }
        }
    }

    /// A helper's memory argument on the stack with its size in the next
    /// register (`ARG_PTR_TO_MEM`/`_UNINIT_MEM` with `ARG_CONST_SIZE`):
    /// the bytes must lie inside the stack ("invalid indirect access to
    /// stack R3 off=-4 size=8").
    fn mem_args(&mut self, i: usize, pr: &Proto, st: &State) {
        if !Self::walked(st) {
            return;
        }
        for (r, n) in pr.mem_args() {
            let (Some(off), size) = (st.regs[usize::from(r)].stack_off(), st.regs[usize::from(n)])
            else {
                continue;
            };
            // The least size the kernel checks the access with: a known
            // size, or one it cannot rule out (it checks its maximum).
            let Some(len) = size
                .konst_of()
                .or_else(|| size.under().map(|u| u.1))
                .and_then(|l| i64::try_from(l).ok())
            else {
                continue;
            };
            if len == 0 || rules::within_stack(off, len) {
                continue;
            }
            let text = self.p.text(self.p.ins[i].stmt).to_owned();
            let room = if off < 0 {
                format!("r10 - {} leaves {} bytes", -off, (-off).min(512))
            } else {
                format!("r10 + {off} is not below r10")
            };
            self.report_at(
                i,
                KEY_HELPER_MEM,
                None,
                format!(
                    "`{text}`: r{r} points at a stack buffer and r{n} says {len} bytes, but \
                     {room}: the kernel refuses a buffer that reaches outside the stack \
                     [r10 - 512, r10); make the buffer at least {len} bytes (point r{r} at \
                     r10 - {len} or lower) or pass a smaller size"
                ),
            );
        }
    }

    /// An ALU operation's result (`a` is `None` for `mov`), after the
    /// pointer arithmetic checks; `b` is a register if `by_reg`.
    #[allow(clippy::too_many_arguments)]
    fn alu_effect(
        &mut self,
        i: usize,
        st: &State,
        f: &'static Form,
        op: AluOp,
        a: Option<Val>,
        b: Val,
        by_reg: bool,
    ) -> Val {
        if let Some(a) = a
            && self.ptr_alu(i, st, op, f.wide, a, b, by_reg)
        {
            // Refused: what follows on this path is not judged.
            return Val::UNKNOWN;
        }
        let v = alu(op, f.wide, f.signed, a, b, self.p.ins[i].slot);
        if !matches!(v.k, K::Range { .. }) {
            return v;
        }
        // A 32-bit move of anything is a number to the kernel (or refused);
        // other results are numbers when their operands are.
        let scalar = match a {
            None => !f.wide || b.is_scalar(),
            Some(a) => a.is_scalar() && b.is_scalar(),
        };
        v.with_scalar(scalar)
    }

    /// The declared map whose value `b` surely points into (not null), if
    /// its lookups give plain value pointers (not sockets or inner maps).
    fn value_map(&self, b: Val) -> Option<&'a MapSpec> {
        let K::Value {
            map, nonnull: true, ..
        } = b.k
        else {
            return None;
        };
        let m = self.p.maps.get(map as usize)?;
        matches!(
            m.map_type,
            MapType::Array
                | MapType::Hash
                | MapType::PercpuArray
                | MapType::PercpuHash
                | MapType::LruHash
                | MapType::LruPercpuHash
        )
        .then_some(m)
    }

    /// The arguments of `helper` whose kind its prototype fixes
    /// (the context, a map, a reference), against what the registers surely
    /// hold ("R1 type=scalar expected=ctx").
    fn typed_args(&mut self, i: usize, pr: &Proto, st: &State) {
        if !Self::walked(st) {
            return;
        }
        let text = self.p.text(self.p.ins[i].stmt).to_owned();
        for (r, &kind) in (1..=5u8).zip(&pr.args) {
            let v = st.regs[usize::from(r)];
            if !v.is_set() {
                continue;
            }
            let fix = match kind {
                Arg::Ctx => match v.ctx_off() {
                    Some(Some(0)) => continue,
                    Some(Some(o)) => {
                        let msg = format!(
                            "`{text}` takes the context in r{r}, but r{r} is the context pointer \
                             moved by {o}: the kernel refuses a moved context pointer; pass it \
                             as it came in r1"
                        );
                        self.report_at(i, KEY_ARGS, None, msg);
                        continue;
                    }
                    Some(None) => continue,
                    None if matches!(v.k, K::Ptr { kinds, .. } if kinds & CTX != 0) => continue,
                    None => "the context pointer (r1 at entry; keep a copy in r6-r9 across calls)",
                },
                Arg::Map => {
                    if v.map_index().is_some() || matches!(v.k, K::Ptr { kinds: OTHER, .. }) {
                        continue;
                    }
                    "a map (`lddw r1, map_fd(NAME)`)"
                }
                Arg::Ref => match v.k {
                    K::Value {
                        map: SOCKET | RINGBUF_RECORD,
                        nonnull: true,
                        ..
                    } => continue,
                    K::Value {
                        map: SOCKET | RINGBUF_RECORD,
                        id,
                        ..
                    } => {
                        let call = self.lookup_call(id);
                        let msg = format!(
                            "`{text}`: r{r} may be null here ({call} returns null {}), and the \
                             kernel refuses to release null; add `jeq r{r}, 0, <label>` before \
                             this call",
                            null_when(v)
                        );
                        self.report_at(i, KEY_ARGS, None, msg);
                        continue;
                    }
                    _ => "what the helper that acquired it returned, checked not null",
                },
                Arg::Any | Arg::Key | Arg::Value | Arg::Mem => continue,
            };
            let what = if let Some(c) = v.konst_of() {
                format!("the number {}", c as i64)
            } else if v.is_scalar() {
                "a number".to_owned()
            } else if v.is_typed_ptr() {
                self.ptr_words(v)
            } else {
                continue;
            };
            self.report_at(
                i,
                KEY_ARGS,
                None,
                format!(
                    "`{text}` takes {fix} in r{r}, but r{r} holds {what}: the kernel refuses \
                     an argument of another kind"
                ),
            );
        }
    }

    /// A helper that releases the reference in r1 (`sk_release`,
    /// `ringbuf_submit`): which one, if known, else any.
    fn release(&mut self, pr: &Proto, st: &mut State) {
        if !pr.releases() {
            return;
        }
        match st.regs[1].k {
            K::Value {
                id, nonnull: true, ..
            } if st.regs[1].is_set() => {
                st.refs &= !ref_bit(id);
                st.drop_reference(Some(id));
            }
            _ => {
                st.refs = 0;
                st.drop_reference(None);
            }
        }
    }

    /// An `exit` of the program on a path that still holds a reference
    /// ("Unreleased reference id=2 alloc_insn=8").
    fn reference_leak(&mut self, i: usize, refs: u64) {
        let p = self.p;
        let text = p.text(p.ins[i].stmt);
        let acquired = p.ins.iter().find_map(|x| {
            let name = x.sem.helper().filter(|_| refs & ref_bit(x.slot) != 0)?;
            // (A sockmap lookup acquires a socket too.)
            let release = proto(name)
                .filter(|p| p.acquires())
                .map_or("sk_release", |p| p.release_with());
            Some((p.quote_at(x)?, release))
        });
        let (call, release) = acquired.unwrap_or(("a call".to_owned(), "sk_release"));
        self.report(
            i,
            KEY_REF,
            format!(
                "`{text}` ends the program on a path that still holds what {call} returned: \
                 the kernel refuses unreleased references; on every path where it is not null, \
                 pass it to `call {release}` before `exit`"
            ),
        );
    }

    /// "`call skb_pull_data` at line 9" when `v` is a packet pointer that
    /// call turned into a number.
    fn packet_changer(&self, v: Val) -> Option<String> {
        let K::Range { site, .. } = v.k else {
            return None;
        };
        if site == NO_SITE || site & DROPPED_PACKET == 0 {
            return None;
        }
        let p = self.p;
        let x = p
            .ins
            .get(*p.slot_ins.get((site & !DROPPED_PACKET) as usize)? as usize)?;
        let name = x.sem.helper()?;
        if !proto(name).is_some_and(|p| p.changes_packet) {
            return None;
        }
        p.quote_at(x)
    }

    /// "`call map_lookup_elem` at line 4": the call that returned the value
    /// pointer `id`.
    fn lookup_call(&self, id: u32) -> String {
        let p = self.p;
        let i = p.slot_ins.get(id as usize).copied().unwrap_or(NONE);
        p.ins
            .get(i as usize)
            .and_then(|x| p.quote_at(x))
            .unwrap_or_else(|| "`call map_lookup_elem`".to_owned())
    }

    /// What a pointer the kernel surely types is, in words.
    fn ptr_words(&self, v: Val) -> String {
        match v.k {
            K::Ptr { kinds: CTX, .. } => "the context pointer".to_owned(),
            K::Ptr { kinds: STACK, .. } => "a stack pointer".to_owned(),
            K::Value { map: SOCKET, .. } => "a socket".to_owned(),
            K::Value {
                map: RINGBUF_RECORD,
                ..
            } => "a ring buffer record".to_owned(),
            K::Value { .. } => match self.value_map(v) {
                Some(m) => format!("a pointer into a value of map `{}`", m.name),
                None => "a map value pointer".to_owned(),
            },
            K::Pkt { .. } => "a packet pointer".to_owned(),
            K::PktEnd => "`data_end`, the packet end pointer".to_owned(),
            _ => "a pointer".to_owned(),
        }
    }

    /// A load, store or atomic through `base` (the operand `role`) that the
    /// kernel refuses whatever the field: through a number ("invalid mem
    /// access 'scalar'"), through a lookup result not checked for null
    /// ("invalid mem access 'map_value_or_null'"), or outside a declared
    /// map's value ("invalid access to map value").
    #[allow(clippy::too_many_arguments)]
    fn mem_access(
        &mut self,
        i: usize,
        st: &State,
        base: Val,
        off: Option<i64>,
        size: u8,
        role: Role,
        write: bool,
    ) {
        if !Self::walked(st) {
            return;
        }
        let p = self.p;
        let text = p.text(p.ins[i].stmt);
        let r = p.ins[i].sem.reg(role);
        let (noun, verb) = access_words(write);
        // Through a moved copy of r10 (r10 itself is the encoder's rule).
        if r != 10
            && let (Some(o), Some(f)) = (base.stack_off(), off)
            && let Some(fault) = rules::stack_access(o + f, i64::from(size))
        {
            let at = o + f;
            let why = match fault {
                rules::StackFault::Outside => {
                    format!("outside the 512-byte stack (offsets go from -512 to -{size})")
                }
                rules::StackFault::Misaligned => format!(
                    "misaligned: a {size}-byte access needs an offset that is a multiple of {size}"
                ),
            };
            self.report_at(
                i,
                KEY_STACK_BOUNDS,
                Some(role),
                format!(
                    "`{text}` {verb} {size} bytes at r10 {} {} through r{r}, a stack pointer \
                     moved to r10 {} {}: that is {why}",
                    if at < 0 { '-' } else { '+' },
                    at.unsigned_abs(),
                    if o < 0 { '-' } else { '+' },
                    o.unsigned_abs()
                ),
            );
            return;
        }
        if base.is_scalar() {
            let msg = if let Some(call) = self.packet_changer(base) {
                format!(
                    "`{text}` goes through r{r}, a packet pointer from before {call}, which may \
                     change the packet: the kernel forgets every packet pointer there and holds \
                     them as numbers; after the call, read `data` and `data_end` from the \
                     context again and check the length"
                )
            } else {
                let what = match base.konst_of() {
                    Some(c) if (c as i64).unsigned_abs() < 1 << 32 => {
                        format!("the number {}", c as i64)
                    }
                    Some(c) => format!("the number {c:#x}"),
                    None => "a number".to_owned(),
                };
                format!(
                    "`{text}` goes through r{r}, which holds {what}, not a pointer: the kernel \
                     refuses memory access through a number; use a pointer (the context in r1 \
                     at entry, the stack through r10, a map value checked not null)"
                )
            };
            self.report_at(i, KEY_PTR, Some(role), msg);
            return;
        }
        if let Some(id) = base.maybe_null() {
            let call = self.lookup_call(id);
            let holds = if r == 0 {
                String::new()
            } else {
                format!(" (r{r} holds its result)")
            };
            self.report_at(
                i,
                KEY_PTR,
                Some(role),
                format!(
                    "r{r} may be null here: {call} returns null {}{holds}; \
                     add `jeq r{r}, 0, <label>` before this {noun}",
                    null_when(base)
                ),
            );
            return;
        }
        if base.is_packet() {
            self.packet_access(i, st, base, (off, size), role, write);
            return;
        }
        let (Some(m), K::Value { off: Some(o), .. }, Some(f)) = (self.value_map(base), base.k, off)
        else {
            return;
        };
        let at = i64::from(o) + f;
        let vs = i64::from(m.value_size);
        if at < 0 || at + i64::from(size) > vs {
            let moved = if o == 0 {
                String::new()
            } else {
                format!(" (r{r} is {o} bytes into the value)")
            };
            self.report_at(
                i,
                KEY_PTR,
                Some(role),
                format!(
                    "`{text}` {verb} {size} bytes at offset {at} of a value of map `{}`{moved}, \
                     whose values are {vs} bytes: the kernel refuses accesses outside the \
                     value; keep offset + size within [0, {vs}]",
                    m.name
                ),
            );
        }
    }

    /// A load or store through a packet pointer outside the bytes the
    /// kernel knows are there ("invalid access to packet"), a store where
    /// the type only reads the packet ("cannot write into packet"), or an
    /// access through `data_end` ("invalid mem access 'pkt_end'").
    fn packet_access(
        &mut self,
        i: usize,
        st: &State,
        base: Val,
        (off, size): (Option<i64>, u8),
        role: Role,
        write: bool,
    ) {
        let p = self.p;
        let text = p.text(p.ins[i].stmt);
        let r = p.ins[i].sem.reg(role);
        let (noun, verb) = access_words(write);
        let msg = match base.k {
            K::PktEnd => format!(
                "`{text}` goes through r{r}, `data_end`, which marks where the packet ends: the \
                 kernel refuses memory access through it; read the packet through `data`"
            ),
            K::Pkt { .. } if write && !p.packet_writes() => format!(
                "`{text}` writes the packet, which {} programs may only read: the kernel \
                 refuses it; copy the bytes to the stack to change them",
                p.table.map_or("these", |t| t.prog_type.name())
            ),
            K::Pkt {
                off: o, range, id, ..
            } => {
                let Some(at) = off.map(|f| i64::from(o) + f) else {
                    return;
                };
                let end = at + i64::from(size);
                if range == PKT_ANY || (at >= 0 && end <= i64::from(range)) {
                    return;
                }
                let known = match range {
                    0 => "no byte of the packet is known to be there".to_owned(),
                    n => format!("only the first {n} bytes are known to be there"),
                };
                // The registers to name in the fix, if some hold them.
                let holding = |want: &dyn Fn(K) -> bool, or: &str| {
                    (0..10u8)
                        .find(|&x| {
                            st.regs[usize::from(x)].is_set() && want(st.regs[usize::from(x)].k)
                        })
                        .map_or(or.to_owned(), |x| format!("r{x}"))
                };
                let data_end = holding(&|k| k == K::PktEnd, "<data_end>");
                // Bytes are counted from `data`, or past a variable offset
                // from the pointer that added it; the check moves a copy of
                // a pointer of the same kind to the end of the access.
                let (from, moved, base, add) = if id == 0 {
                    let data = holding(&|k| matches!(k, K::Pkt { off: 0, id: 0, .. }), "<data>");
                    let moved = if o == 0 {
                        String::new()
                    } else {
                        format!(" (r{r} is `data` + {o})")
                    };
                    ("`data`", moved, data, end)
                } else {
                    (
                        "its variable offset",
                        String::new(),
                        format!("r{r}"),
                        end - i64::from(o),
                    )
                };
                if at < 0 {
                    format!(
                        "`{text}` {verb} {size} bytes at offset {at} from {from}{moved}, before \
                         the packet: the kernel refuses it; keep the offset from {from} at 0 or \
                         more"
                    )
                } else {
                    let bytes = if id == 0 {
                        format!("packet bytes {at}..{end}")
                    } else {
                        format!("bytes {at}..{end} past r{r}'s variable offset")
                    };
                    format!(
                        "`{text}` {verb} {bytes}{moved}, but {known}: the kernel refuses it; \
                         before this {noun}, check the packet is long enough (`mov rX, {base}; \
                         add rX, {add}; jgt rX, {data_end}, <label>`)"
                    )
                }
            }
            _ => return,
        };
        self.report_at(i, KEY_PTR, Some(role), msg);
    }

    /// Arithmetic on a pointer that the kernel refuses
    /// (`adjust_ptr_min_max_vals`): on one that may be null, 32-bit,
    /// pointer with pointer, bitwise operations, multiplication, division
    /// and shifts, a number minus a pointer, subtraction from a stack
    /// pointer. `a` is the destination, `b` the operand (a register if
    /// `by_reg`). Whether it reported.
    #[allow(clippy::too_many_arguments)]
    fn ptr_alu(
        &mut self,
        i: usize,
        st: &State,
        op: AluOp,
        wide: bool,
        a: Val,
        b: Val,
        by_reg: bool,
    ) -> bool {
        if !Self::walked(st) || op == AluOp::Mov {
            return false;
        }
        let both = a.is_typed_ptr() && by_reg && b.is_typed_ptr();
        let b_number = !by_reg || b.is_scalar();
        let (ptr, role) = if both {
            if op == AluOp::Sub {
                // As root, pointer minus pointer is a number.
                return false;
            }
            (a, Role::Dst)
        } else if a.is_typed_ptr() && b_number {
            (a, Role::Dst)
        } else if a.is_scalar() && by_reg && b.is_typed_ptr() {
            (b, Role::Src)
        } else {
            return false;
        };
        let p = self.p;
        let x = p.ins[i];
        let text = p.text(x.stmt);
        let r = x.sem.reg(role);
        let sym = match op {
            AluOp::Add => "+",
            AluOp::Sub => "-",
            AluOp::Mul => "*",
            AluOp::Div => "/",
            AluOp::Mod => "%",
            AluOp::Or => "|",
            AluOp::And => "&",
            AluOp::Xor => "^",
            AluOp::Lsh => "<<",
            AluOp::Rsh => ">>",
            AluOp::Arsh => "s>>",
            AluOp::Mov => "=",
        };
        let what = self.ptr_words(ptr);
        let msg = if !wide {
            if op == AluOp::Sub {
                // As root, a number.
                return false;
            }
            let wide = match text.split_once(' ') {
                Some((m, rest)) if m.len() > 2 && m.ends_with("32") => {
                    format!(" (`{} {rest}`)", &m[..m.len() - 2])
                }
                _ => String::new(),
            };
            format!(
                "`{text}` is 32-bit arithmetic on r{r}, {what}: the kernel refuses 32-bit \
                 arithmetic on pointers; use the 64-bit form{wide}"
            )
        } else if let Some(id) = ptr.maybe_null() {
            let call = self.lookup_call(id);
            format!(
                "r{r} may be null here: {call} returns null {}, and the kernel refuses \
                 arithmetic on a pointer before its null check; add `jeq r{r}, 0, <label>` \
                 before this instruction",
                null_when(ptr)
            )
        } else if both {
            format!(
                "`{text}` computes pointer {sym} pointer (r{} and r{} are both pointers): the \
                 kernel refuses it; only a number may be added to a pointer (or one pointer \
                 subtracted from another)",
                x.sem.dst, x.sem.src
            )
        } else if matches!(ptr.k, K::Value { map: SOCKET, .. }) {
            format!(
                "`{text}` moves r{r}, {what}: the kernel refuses arithmetic on sockets; read \
                 its fields at fixed offsets from the pointer itself"
            )
        } else if ptr.k == K::PktEnd {
            format!(
                "`{text}` moves r{r}, {what}: the kernel refuses arithmetic on `data_end`; \
                 move a packet pointer instead and compare it with `data_end`"
            )
        } else {
            match op {
                AluOp::Add => return false,
                AluOp::Sub if role == Role::Dst && ptr.stack_off().is_some() => {
                    let neg = match b.konst_of() {
                        Some(c) if !by_reg && c as i64 > i64::from(i32::MIN) => {
                            (c as i64).wrapping_neg().to_string()
                        }
                        _ => "-N".to_owned(),
                    };
                    format!(
                        "`{text}` subtracts from r{r}, {what}: the kernel refuses subtraction \
                         from a stack pointer; add the negative number instead (`add r{r}, \
                         {neg}`)"
                    )
                }
                AluOp::Sub if role == Role::Dst => return false,
                AluOp::Sub => format!(
                    "`{text}` subtracts r{r}, {what}, from a number: the kernel refuses it; \
                     subtract the number from the pointer instead"
                ),
                AluOp::Or | AluOp::And | AluOp::Xor => format!(
                    "`{text}` is a bitwise operation ({sym}) on r{r}, {what}: the kernel \
                     refuses bitwise operations on pointers; only `add` and `sub` of a number \
                     move a pointer"
                ),
                _ => format!(
                    "`{text}` applies {sym} to r{r}, {what}: the kernel refuses pointer \
                     arithmetic other than adding or subtracting a number"
                ),
            }
        };
        self.report_at(i, KEY_PTR_ARITH, Some(role), msg);
        true
    }

    /// The value a load of `size` bytes at `base + off` gives.
    fn load(
        &mut self,
        i: usize,
        st: &State,
        b: Val,
        off: Option<i64>,
        size: u8,
        signed: bool,
    ) -> Val {
        let p = self.p;
        let slot = p.ins[i].slot;
        self.stack_read(i, st, b, off, size);
        let max = if size >= 8 {
            u64::MAX
        } else {
            (1 << (8 * u32::from(size))) - 1
        };
        let at = b.stack_off().zip(off).and_then(|(o, f)| o.checked_add(f));
        if let Some(base_off) = b.ctx_off() {
            let at = base_off.zip(off).and_then(|(a, f)| a.checked_add(f));
            if !signed && let Some(v) = p.ctx_packet(at, size) {
                return v;
            }
            let hi = match (size, signed) {
                (1, false) => 0xff,
                (2, false) => 0xffff,
                (1, true) => 0x7f,
                (2, true) => 0x7fff,
                (_, true) => 0x7fff_ffff,
                _ => u32::MAX,
            };
            Val::range(0, hi, slot, !signed && p.ctx_pointer(at, size))
        } else if let Some(v) = at.and_then(|at| st.fill(at, size)) {
            match (signed, v.konst_of()) {
                (false, _) => v,
                (true, Some(c)) => {
                    let sh = 64 - 8 * u32::from(size);
                    Val::konst((((c << sh) as i64) >> sh) as u64)
                }
                (true, None) => Val::fresh(slot, u64::MAX).with_lossy(true),
            }
        } else if b.stack_any() {
            // Maybe a spilled register (known to the kernel), maybe a
            // copy of a range.
            let v = if signed || size >= 8 {
                Val::opaque(true, size >= 8)
            } else {
                Val::bounded(0, max, slot, true)
            };
            v.with_lossy(true)
        } else {
            // A read-only map's value is a constant to the kernel. A map
            // value holds numbers (a pointer in it needs BTF and 8 bytes).
            let v = Val::fresh(slot, if signed { u64::MAX } else { max });
            let number = size < 8 && self.value_map(b).is_some();
            v.with_lossy(matches!(b.k, K::Ptr { .. } | K::Value { .. }))
                .with_scalar(number)
        }
    }

    pub(super) fn branch(
        &mut self,
        i: usize,
        st: &mut State,
        cmp: Cmp,
        dst: u8,
        src: Src,
        (fall, target): (i64, i64),
    ) {
        let d_pre = st.reg(dst);
        let d = self.read(i, st, Role::Dst, dst, Why::Plain);
        let (s_pre, s) = match src {
            Src::Reg(r) => {
                let pre = st.reg(r);
                (
                    Some(pre),
                    Opnd::Reg(self.read(i, st, Role::Src, r, Why::Plain)),
                )
            }
            Src::Imm(Some(imm)) => (None, Opnd::Imm(imm_operand(imm, cmp.wide))),
            Src::Imm(None) => (None, Opnd::Unknown),
        };
        if let (Src::Reg(r), Opnd::Reg(sv)) = (src, s)
            && self.packet_branch(i, st, cmp, (dst, d), (r, sv), (fall, target))
        {
            return;
        }
        // `jeq rX, 0` / `jne rX, 0` on a lookup result: both ways walked,
        // the result and its copies null on one and a value pointer on the
        // other (`mark_ptr_or_null_regs`); once checked, the kernel knows
        // it is not null.
        if let K::Value { id, nonnull, .. } = d.k
            && d.is_set()
        {
            if cmp.wide
                && matches!(cmp.op, JmpOp::Jeq | JmpOp::Jne)
                && matches!(src, Src::Imm(Some(0)))
            {
                for taken in [false, true] {
                    let null = taken == (cmp.op == JmpOp::Jeq);
                    if null && nonnull {
                        continue;
                    }
                    // The taken edge is the last use of `st`.
                    let mut next = if taken { take(st) } else { st.clone() };
                    if !nonnull {
                        next.null_check(id, !null);
                    }
                    self.branch_edge(i, taken, (fall, target), next);
                }
                return;
            }
            if matches!(cmp.op, JmpOp::Jeq | JmpOp::Jne) && matches!(src, Src::Imm(Some(0))) {
                // 32-bit: the kernel refines nothing, but decides it for a
                // pointer it knows is not null (`is_branch_taken`).
                for taken in [false, true] {
                    let null = taken == (cmp.op == JmpOp::Jeq);
                    if null && nonnull {
                        continue;
                    }
                    let next = if taken { take(st) } else { st.clone() };
                    self.branch_edge(i, taken, (fall, target), next);
                }
                return;
            }
            // Any other comparison: the kernel may learn what is not followed.
            st.forget_values(Some(id), false);
        }
        if let Opnd::Reg(v) = s
            && let K::Value { id, .. } = v.k
        {
            st.forget_values(Some(id), false);
        }
        // `jeq r2, r2`: one value, not two.
        let same = matches!(src, Src::Reg(r) if r == dst) && d.konst_of().is_none();
        let loose = |pre: Val, v: Val| pre.init != Init::Set || v.linked;
        let loose =
            loose(d_pre, d) || matches!((s_pre, s), (Some(pre), Opnd::Reg(v)) if loose(pre, v));
        for taken in [false, true] {
            let v = if same {
                verdict_same(cmp, d, taken)
            } else {
                verdict(cmp, d, s, taken, self.p.ctx == CtxLayout::Other)
            };
            if v == Verdict::Skips {
                continue;
            }
            // The taken edge is the last use of `st`.
            let mut next = if taken { take(st) } else { st.clone() };
            if loose {
                // Maybe a copy of any range: the kernel may refine them all.
                next.forget_ranges(None);
            } else {
                let exact = cmp.op != JmpOp::Jset && !same;
                if matches!(d.k, K::Range { .. })
                    || matches!(
                        s,
                        Opnd::Reg(Val {
                            k: K::Range { .. },
                            ..
                        })
                    )
                {
                    // Values linked to the one compared (`r1 = r0 + 5`) are
                    // refined by the kernel too, in a way not followed.
                    next.forget_linked();
                }
                if let K::Range { site, .. } = d.k {
                    match s.val().and_then(Val::single) {
                        Some(c) if exact => next.refine(dst, cmp, c, taken),
                        _ => next.forget_ranges(Some(site)),
                    }
                }
                if let (Src::Reg(r), Opnd::Reg(sv)) = (src, s)
                    && let K::Range { site, .. } = sv.k
                {
                    match d.single() {
                        Some(c) if exact => {
                            let flipped = Cmp {
                                op: flip(cmp.op),
                                ..cmp
                            };
                            next.refine(r, flipped, c, taken);
                        }
                        _ => next.forget_ranges(Some(site)),
                    }
                }
            }
            if v == Verdict::Unsure {
                next.make_unsure();
                if d.vague() || s.val().is_none_or(Val::vague) || same {
                    next.suspect = true;
                }
            }
            self.branch_edge(i, taken, (fall, target), next);
        }
    }

    /// A 64-bit comparison of a packet pointer with `data_end`, as the
    /// kernel's `try_match_pkt_pointers` reads it: on the edge where the
    /// pointer is at most `data_end` every packet pointer learns that many
    /// bytes are there; on the other this pointer is at or beyond the end
    /// (`mark_pkt_end`), after which the kernel may decide such comparisons
    /// by itself. Whether it followed the edges. A comparison this analysis
    /// cannot read that may teach the kernel a range lets it know any.
    fn packet_branch(
        &mut self,
        i: usize,
        st: &mut State,
        cmp: Cmp,
        (dst, d): (u8, Val),
        (src, s): (u8, Val),
        edges: (i64, i64),
    ) -> bool {
        let ((pkt_reg, op), (off, marks, id)) = match (d.k, s.k) {
            (K::Pkt { off, marks, id, .. }, K::PktEnd) if d.is_set() && s.is_set() => {
                ((dst, cmp.op), (off, marks, id))
            }
            (K::PktEnd, K::Pkt { off, marks, id, .. }) if d.is_set() && s.is_set() => {
                ((src, flip(cmp.op)), (off, marks, id))
            }
            _ => {
                let maybe = |v: Val| v.is_packet() || v.maybe_packet();
                let pkts = matches!((d.k, s.k), (K::Pkt { .. }, K::Pkt { .. }));
                if pkts && d.is_set() && s.is_set() {
                    // Two packet pointers: neither decided nor learnt from.
                    return self.both_edges(i, st, edges);
                }
                if cmp.wide && maybe(d) && maybe(s) {
                    st.learn_packet(None, PKT_ANY, false);
                }
                return false;
            }
        };
        // (the edge that learns, whether its bound is open: `<` the end)
        let (learner, open) = match op {
            _ if !cmp.wide => return self.both_edges(i, st, edges),
            JmpOp::Jgt => (false, false),
            JmpOp::Jlt => (true, true),
            JmpOp::Jge => (false, true),
            JmpOp::Jle => (true, false),
            // Neither decided nor learnt from.
            _ => return self.both_edges(i, st, edges),
        };
        // What the kernel decides (`is_pkt_ptr_branch_taken`) for each
        // place the pointer may be: `Some(taken)`, or `None` for both ways.
        let decides = |mark: u8| match (mark, op) {
            (PKT_BEYOND, JmpOp::Jgt | JmpOp::Jle) => Some(op == JmpOp::Jgt),
            (PKT_AT | PKT_BEYOND, JmpOp::Jlt | JmpOp::Jge) => Some(op == JmpOp::Jge),
            _ => None,
        };
        // For each edge: the places that decide it is never taken, and
        // those that decide it is the only one.
        let places = [PKT_IN, PKT_AT, PKT_BEYOND]
            .into_iter()
            .filter(|&m| marks & m != 0);
        let deciding = |taken: bool| -> u8 {
            places
                .clone()
                .filter(|&m| decides(m) == Some(taken))
                .fold(0, |a, m| a | m)
        };
        let only = [deciding(false), deciding(true)];
        if only[0] == marks || only[1] == marks {
            // Decided: the other edge is never walked, nothing learnt.
            let taken = only[1] == marks;
            let next = take(st);
            self.branch_edge(i, taken, edges, next);
            return true;
        }
        for taken in [false, true] {
            let mut next = if taken { take(st) } else { st.clone() };
            // Where the kernel decides this edge it neither learns nor
            // marks: the compared pointer keeps those places.
            let kept = only[usize::from(taken)];
            if taken == learner {
                if let Ok(off) = u32::try_from(off) {
                    // An open bound gives one byte more (generous: older
                    // kernels give one less, and none at offset 0).
                    let surely = id == 0 && (off > 0 || !open);
                    next.learn_packet(Some(id), off + u32::from(open), surely);
                }
                if let K::Pkt { marks, .. } = &mut next.regs[usize::from(pkt_reg)].k {
                    *marks |= kept;
                }
            } else {
                let mark = if open { PKT_AT } else { PKT_BEYOND };
                next.regs[usize::from(pkt_reg)].k = K::Pkt {
                    off,
                    range: 0,
                    marks: mark | kept,
                    id,
                };
            }
            // Some place decides the kernel never takes this edge.
            if only[usize::from(!taken)] != 0 {
                next.make_unsure();
                next.suspect = true;
            }
            self.branch_edge(i, taken, edges, next);
        }
        true
    }

    /// Follows both edges of the comparison at `i` with the state as it is,
    /// as the kernel does with one it neither decides nor learns from.
    fn both_edges(&mut self, i: usize, st: &mut State, edges: (i64, i64)) -> bool {
        let next = st.clone();
        self.branch_edge(i, false, edges, next);
        let next = take(st);
        self.branch_edge(i, true, edges, next);
        true
    }

    /// Follows one edge of the comparison at `i`, noting that some visit
    /// took it.
    fn branch_edge(&mut self, i: usize, taken: bool, (fall, target): (i64, i64), st: State) {
        self.mark(i, if taken { TARGET } else { FALL });
        self.edge(if taken { target } else { fall }, st);
    }

    /// Loops the kernel cannot leave: from a surely walked instruction, no
    /// path reaches an `exit` of its function over the edges the kernel
    /// may take (a comparison's edge it surely never takes is left out).
    /// Walking it, the kernel finds the loop ("infinite loop detected") or
    /// runs out of its instruction budget.
    fn endless_loops(&mut self) {
        let p = self.p;
        let m = p.ins.len();
        // (successor, predecessor) edges, grouped by successor below.
        let mut edges: Vec<(u32, u32)> = Vec::with_capacity(m + m / 4);
        let mut leave = vec![false; m];
        let mut work = Vec::new();
        for (i, x) in p.ins.iter().enumerate() {
            let seen = self.visits_seen[i];
            let [first, second] = p.successors(i);
            // Within the function: a call's target is another one.
            let next = match x.flow {
                Flow::CallLocal(_) | Flow::Func(_) => [first, None],
                Flow::Cond(_) => [
                    first.filter(|_| seen & FALL != 0),
                    second.filter(|_| seen & TARGET != 0),
                ],
                _ => [first, second],
            };
            // Not visited (nothing known), an unknown slot, a kfunc that
            // may not return (`bpf_throw`), control leaving the program
            // (the structure checks' to report): a way out, for all we know.
            let leaves_program = match x.flow {
                Flow::Exit | Flow::Opaque => true,
                Flow::Cond(_) => first.is_none() || second.is_none(),
                _ => first.is_none(),
            };
            if seen & SEEN == 0
                || leaves_program
                || x.sem.form.is_none()
                || x.sem.op() == Some(Op::CallKfunc)
            {
                leave[i] = true;
                work.push(i as u32);
            }
            for j in next.into_iter().flatten() {
                edges.push((j, i as u32));
            }
        }
        let preds = Preds::new(m, &edges);
        while let Some(j) = work.pop() {
            for &i in preds.of(j as usize) {
                if !leave[i as usize] {
                    leave[i as usize] = true;
                    work.push(i);
                }
            }
        }
        let stuck = (0..m).find(|&i| !leave[i] && self.visits_seen[i] & WALKED != 0);
        if let Some(i) = stuck {
            let text = p.text(p.ins[i].stmt).to_owned();
            // After the walks: straight to the errors, not to a walk's.
            self.diag.push(
                p.ins[i].stmt,
                KEY_ENDLESS,
                format!(
                    "`{text}` is in a loop with no way out: no path from here that the kernel \
                     may take reaches `exit`, so it refuses the program (\"infinite loop \
                     detected\", or its instruction budget runs out); add a condition that \
                     leaves the loop, or `may_goto`"
                ),
            );
        }
    }

    pub(super) fn exit(&mut self, i: usize, st: &State) {
        let p = self.p;
        let x = p.ins[i];
        let f = p.func_of(x.slot);
        let r0 = st.regs[0];
        let text = p.text(x.stmt);
        // The kernel surely gets here (if it gets this far at all).
        let reached = !st.suspect || st.sure;
        if f != 0 && p.funcs[f].called {
            // Returns to the caller, which gets r0 as it is.
            if reached && r0.is_set() && matches!(r0.k, K::Ptr { kinds: STACK, .. }) {
                self.report(
                    i,
                    KEY_LEAK,
                    format!(
                        "`{text}` returns a pointer to its own stack in r0: the kernel refuses \
                         it, that stack is gone once the function returns"
                    ),
                );
            }
            if self.settled {
                return;
            }
            let new = Summary {
                r0,
                sure: st.sure,
                clean: !st.suspect,
                r0_unset_sure: st.unset_sure & 1 != 0,
            };
            let merged = match self.summaries[f] {
                None => new,
                Some(old) => {
                    let mut r0 = join_val(old.r0, new.r0);
                    // A value returned around a loop through the caller.
                    if r0 != old.r0 && self.summary_changes[f] > WIDEN_AFTER {
                        r0 = r0.strip();
                    }
                    Summary {
                        r0,
                        sure: old.sure || new.sure,
                        clean: old.clean || new.clean,
                        r0_unset_sure: old.r0_unset_sure || new.r0_unset_sure,
                    }
                }
            };
            if self.summaries[f] != Some(merged) {
                self.summaries[f] = Some(merged);
                self.summary_changes[f] += 1;
                let callers = std::mem::take(&mut self.callers[f]);
                for &b in &callers {
                    if self.states[b as usize].is_some() {
                        self.enqueue(b as usize);
                    }
                }
                self.callers[f] = callers;
            }
            return;
        }
        let main = f == 0;
        if main && reached && st.refs != 0 {
            self.reference_leak(i, st.refs);
        }
        let sure_unset = st.unset_sure & 1 != 0;
        let unset = (r0.init == Init::Unset && (reached || sure_unset))
            || (main && r0.init == Init::Maybe && sure_unset);
        if unset {
            let hint = if st.clobbered & 1 != 0 {
                " (the function called with `call local` returns without setting r0)"
            } else {
                ""
            };
            self.report(
                i,
                KEY_EXIT,
                format!(
                    "`{text}` with r0 unset on some path{hint}: set the return value first, e.g. \
                     `mov r0, 0`"
                ),
            );
        } else if main
            && reached
            && p.unpriv
            && r0.is_set()
            && let K::Ptr { kinds, .. } = r0.k
        {
            let what = match kinds {
                CTX => "the context pointer",
                STACK => "a stack address",
                _ => "a kernel address",
            };
            self.report(
                i,
                KEY_LEAK,
                format!(
                    "`{text}` returns {what} in r0 to user space: unprivileged programs may not \
                     leak kernel addresses; return a number"
                ),
            );
        }
    }

    pub(super) fn call_local(&mut self, st: &State, slot: u32, target: i64, fall: i64) {
        let p = self.p;
        let mut args = [Val::UNSET; 5];
        args.copy_from_slice(&st.regs[1..=5]);
        // The function now starts from more than its summary saw: what
        // it returns here may differ (another call's arguments); until it
        // is walked again, nothing after this call is promised.
        let stale = self.edge(target, State::entry_func(st, st.sure, args));
        let Ok(fi) = p
            .funcs
            .binary_search_by_key(&target, |f| i64::from(f.start))
        else {
            return;
        };
        let Some(sum) = self.summaries[fi] else {
            // The function has not returned (yet).
            return;
        };
        let mut after = st.clone();
        after.args_touch_stack();
        if !(st.sure && sum.sure) {
            after.make_unsure();
        }
        after.suspect |= !sum.clean || stale;
        if stale {
            after.make_unsure();
        }
        after.clobber_args(self.p.slot_ins.get(slot as usize).copied().unwrap_or(NONE));
        // The callee may have refined copies of the caller's ranges, and
        // null-checked its lookup results.
        after.forget_ranges(None);
        after.forget_values(None, false);
        after.forget_packet();
        // The callee may have released them.
        after.refs = 0;
        let r0 = match sum.r0.init {
            Init::Set => match sum.r0.k {
                K::Const(c) => Val::konst(c),
                K::Range { hlo, hhi, .. } => Val::bounded(hlo, hhi, slot, true).with_lossy(true),
                K::Ptr { kinds, .. } if kinds & STACK == 0 => Val::ptr(kinds, None),
                _ => Val::bounded(0, u64::MAX, slot, true).with_lossy(true),
            },
            Init::Maybe => Val {
                init: Init::Maybe,
                ..Val::opaque(true, false).with_lossy(true)
            },
            Init::Unset => Val::UNSET,
        };
        after.regs[0] = r0;
        if r0.is_set() {
            after.clobbered &= !1;
            after.unset_sure &= !1;
        } else {
            after.clobbered |= 1;
            if after.sure && sum.r0_unset_sure {
                after.unset_sure |= 1;
            } else {
                after.unset_sure &= !1;
            }
        }
        self.edge(fall, after);
    }
}

/// Each instruction's predecessors, in one array (a `Vec` per instruction
/// cost an allocation each).
struct Preds {
    /// `all[start[j]..start[j + 1]]` are `j`'s.
    start: Vec<u32>,
    all: Vec<u32>,
}

impl Preds {
    /// From (successor, predecessor) edges between `m` instructions.
    fn new(m: usize, edges: &[(u32, u32)]) -> Preds {
        let mut start = vec![0u32; m + 1];
        for &(j, _) in edges {
            start[j as usize + 1] += 1;
        }
        for k in 0..m {
            start[k + 1] += start[k];
        }
        let mut next = start.clone();
        let mut all = vec![0; edges.len()];
        for &(j, i) in edges {
            all[next[j as usize] as usize] = i;
            next[j as usize] += 1;
        }
        Preds { start, all }
    }

    fn of(&self, j: usize) -> &[u32] {
        &self.all[self.start[j] as usize..self.start[j + 1] as usize]
    }
}

/// The state, leaving a cheap placeholder (for its last use).
pub(super) fn take(st: &mut State) -> State {
    std::mem::replace(
        st,
        State {
            regs: [Val::UNSET; 11],
            sure: false,
            suspect: false,
            unset_sure: 0,
            clobbered: 0,
            clobbered_by: NONE,
            spills: Spills::default(),
            refs: 0,
            stack: None,
        },
    )
}

/// An ALU operation's result. `a` is `None` for `mov`. A mask or shift of a
/// range is a new value, grouped by `site`.
pub(super) fn alu(
    op: AluOp,
    wide: bool,
    signed_div: bool,
    a: Option<Val>,
    b: Val,
    site: u32,
) -> Val {
    // Besides ranges the kernel tracks known bits (`lsh r0, 4` clears the
    // low four), which only sums and right shifts keep in step with the
    // bounds here; a mask by a constant is followed bit by bit
    // (`and_bounds`).
    let mask = op == AluOp::And && b.konst_of().is_some();
    let bits = a.is_some() && !matches!(op, AluOp::Add | AluOp::Sub | AluOp::Rsh) && !mask;
    // The kernel links `r2 = r1 + 5` to `r1`'s copies (by the difference):
    // what it learns of one it learns of the other.
    let delta = matches!(op, AluOp::Add | AluOp::Sub)
        && b.konst_of().is_some()
        && a.is_some_and(Val::linked_any);
    // Signed bounds narrower than the unsigned ones give: the kernel
    // carries them through the arithmetic, this analysis does not.
    let signed = a.is_some_and(Val::signed_extra) || b.signed_extra();
    let vague = a.is_some_and(Val::vague) || b.vague() || bits || signed_div || delta || signed;
    let mut v = alu_value(op, wide, signed_div, a, b, site);
    if matches!(v.k, K::Const(_) | K::Ptr { .. }) {
        return v;
    }
    if mask
        && !vague
        && let (Some(a), Some(c)) = (a, b.konst_of())
    {
        match (and_bounds(a, c, wide), &mut v.k) {
            (
                Some((lo, hi)),
                K::Range {
                    ulo,
                    uhi,
                    hlo,
                    hhi,
                    slo,
                    shi,
                    ..
                },
            ) => {
                (*hlo, *hhi) = (lo, hi);
                (*slo, *shi) = signed_hull(lo, hi);
                if *ulo <= *uhi && (u64::from(*ulo) < lo || u64::from(*uhi) > hi) {
                    (*ulo, *uhi) = (1, 0);
                }
                return v;
            }
            _ => return v.with_lossy(true),
        }
    }
    v.with_lossy(vague)
}

/// The bounds the kernel finds for `a & c` (`scalar_min_max_and` with its
/// known bits), when this analysis knows them exactly: `a` a number known
/// by its bounds and the bits masks and shifts cleared, with no bit the
/// kernel may know is 1 under the mask.
fn and_bounds(a: Val, c: u64, wide: bool) -> Option<(u64, u64)> {
    if !a.is_scalar() || a.lossy {
        return None;
    }
    let c = if wide { c } else { c & U32 };
    let (lo, hi) = a.hull()?;
    let zeros = a.known_zeros();
    if !wide && hi > U32 {
        // The kernel keeps bounds of the low half apart.
        return (lo == 0 && hi == u64::MAX && zeros & U32 == 0).then_some((0, c));
    }
    if lo == hi {
        return Some((lo & c, lo & c));
    }
    if c & c.wrapping_add(1) == 0 && hi <= c {
        // A low mask over the whole range changes nothing.
        return Some((lo, hi));
    }
    // The bits the bounds fix (`tnum_range`): the common prefix of lo, hi.
    let unknown = match 64 - (lo ^ hi).leading_zeros() {
        64 => u64::MAX,
        n => (1u64 << n) - 1,
    };
    let ones = lo & !unknown;
    if ones & c != 0 {
        return None;
    }
    let max = hi.min(c).min(c & !zeros & unknown);
    // Above 32 bits the kernel's known bits also bound the low half (for
    // 32-bit comparisons): not followed here.
    if max > U32 && (c & !zeros) & U32 != U32 {
        return None;
    }
    Some((0, max))
}

/// A known pointer offset after `add`/`sub` of the constant `c`; unknown
/// once it leaves `i32`.
fn moved(off: Option<i32>, op: AluOp, c: u64) -> Option<i32> {
    let (o, c) = (i64::from(off?), c as i64);
    let r = if op == AluOp::Add {
        o.checked_add(c)
    } else {
        o.checked_sub(c)
    };
    r.and_then(|r| i32::try_from(r).ok())
}

pub(super) fn alu_value(
    op: AluOp,
    wide: bool,
    signed_div: bool,
    a: Option<Val>,
    b: Val,
    site: u32,
) -> Val {
    let Some(a) = a else {
        // mov
        if wide {
            return b;
        }
        return match b.k {
            K::Const(c) => Val::konst(c & U32),
            K::Range { hhi, .. } if hhi <= U32 => b,
            // The low half of a value the kernel cannot rule out (all of
            // them below 2^32) is that value.
            K::Range {
                ulo,
                uhi,
                ptr: false,
                ..
            } if ulo <= uhi => {
                let mut v = Val::fresh(site, U32);
                if let K::Range { ulo: l, uhi: h, .. } = &mut v.k {
                    (*l, *h) = (ulo, uhi);
                }
                v
            }
            _ => Val::fresh(site, U32),
        };
    };
    let linked = matches!(op, AluOp::Add | AluOp::Sub) && b.konst_of().is_some() && a.linked_any();
    let full = if wide { u64::MAX } else { U32 };
    if signed_div {
        return Val::fresh(site, full);
    }
    if let (K::Const(x), K::Const(y)) = (a.k, b.k)
        && let Some(r) = alu_const(op, wide, x, y)
    {
        return Val::konst(r);
    }
    if wide && (op == AluOp::Add || op == AluOp::Sub) {
        match (a.k, b.k) {
            (K::Ptr { kinds, off }, K::Const(c)) => {
                let off = moved(off, op, c);
                return Val::ptr(kinds, off);
            }
            (
                K::Value {
                    nonnull: true,
                    map,
                    off,
                    id,
                },
                K::Const(c),
            ) => {
                let off = moved(off, op, c);
                return Val::value(map, off, id);
            }
            (
                K::Value {
                    nonnull: true,
                    map,
                    id,
                    ..
                },
                _,
            ) if b.is_scalar() => return Val::value(map, None, id),
            (K::Value { .. }, _) | (_, K::Value { .. }) => return Val::UNKNOWN,
            // Moved by a number the kernel knows exactly (a constant, or a
            // range of one value): the same pointer (id), further on. By
            // a number it surely cannot pin down: another pointer (a new
            // id) with no byte known. Otherwise the kernel may know either:
            // not followed.
            (K::Pkt { .. }, _) | (_, K::Pkt { .. }) => {
                let (p, n) = if matches!(a.k, K::Pkt { .. }) {
                    (a, b)
                } else {
                    (b, a)
                };
                let K::Pkt {
                    off,
                    range,
                    marks,
                    id,
                } = p.k
                else {
                    return Val::UNKNOWN;
                };
                // (A number minus a pointer is refused in `ptr_alu`.)
                if !n.is_scalar() || (op == AluOp::Sub && !matches!(a.k, K::Pkt { .. })) {
                    return Val::UNKNOWN;
                }
                if let Some(c) = n.single() {
                    return match moved(Some(off), op, c) {
                        Some(off) => Val {
                            k: K::Pkt {
                                off,
                                range,
                                marks,
                                id,
                            },
                            ..Val::UNKNOWN
                        },
                        None => Val::UNKNOWN,
                    };
                }
                return match n.under() {
                    Some((lo, hi, false)) if lo < hi => Val::var_pkt(off, site),
                    _ => Val::UNKNOWN,
                };
            }
            (K::Ptr { .. }, K::Ptr { .. }) => return Val::opaque(false, true),
            (K::Ptr { kinds, .. }, _) => return Val::ptr(kinds, None),
            (_, K::Ptr { kinds, .. }) if op == AluOp::Add => return Val::ptr(kinds, None),
            _ => {}
        }
    }
    let bounds = a
        .hull()
        .zip(b.hull())
        .and_then(|(x, y)| hull_arith(op, wide, x, y));
    // Where the bounds here give up (a `sub` that wraps, a product that
    // overflows) the kernel may still know some (signed bounds, bits).
    let mut v = match bounds {
        Some((lo, hi)) => Val::bounded(lo, hi, site, linked),
        // A 32-bit result is zero-extended.
        None if !wide => Val::bounded(0, U32, site, linked).with_lossy(true),
        None if a.stack_any() || b.stack_any() => Val::opaque(linked, true),
        None => Val::bounded(0, u64::MAX, site, linked).with_lossy(true),
    };
    // Masks and shifts of a range: every value of the image is possible.
    if let (
        K::Range {
            ulo,
            uhi,
            ptr: false,
            ..
        },
        K::Const(c),
        K::Range {
            hlo, hhi, slo, shi, ..
        },
    ) = (a.k, b.k, v.k)
        && ulo <= uhi
    {
        let c = if wide { c } else { c & U32 };
        let image = match op {
            AluOp::And if c <= U32 && (c + 1).is_power_of_two() => {
                let m = c as u32;
                if uhi <= m {
                    Some((ulo, uhi))
                } else if uhi - ulo >= m {
                    Some((0, m))
                } else {
                    None
                }
            }
            AluOp::Rsh if c < 32 => Some((ulo >> c, uhi >> c)),
            AluOp::Add => add_image(ulo, uhi, c, wide),
            AluOp::Sub => add_image(ulo, uhi, c.wrapping_neg(), wide),
            _ => None,
        };
        if let Some((ulo, uhi)) = image
            && hlo <= u64::from(ulo)
            && u64::from(uhi) <= hhi
        {
            v.k = K::Range {
                ulo,
                uhi,
                hlo,
                hhi,
                slo,
                shi,
                site,
                ptr: false,
            };
        }
    }
    v.zeros = result_zeros(op, wide, a, b, v);
    v
}

/// The bits of `a op b` the kernel knows are 0 (its `tnum`): masks clear
/// bits, shifts move them, 32-bit results clear the upper half.
fn result_zeros(op: AluOp, wide: bool, a: Val, b: Val, v: Val) -> u64 {
    if !matches!(v.k, K::Range { .. }) {
        return 0;
    }
    let az = a.known_zeros();
    let upper = if wide { 0 } else { !U32 };
    let z = match (op, b.konst_of()) {
        (AluOp::And, Some(c)) => az | !c,
        (AluOp::And, None) => az | b.known_zeros(),
        (AluOp::Or, Some(c)) => az & !c,
        (AluOp::Rsh, Some(k)) if wide && k < 64 => (az >> k) | !(u64::MAX >> k),
        (AluOp::Lsh, Some(k)) if wide && k < 64 => (az << k) | ((1u64 << k) - 1),
        _ => 0,
    };
    z | upper
}

/// The largest interval of 32-bit values `x + c` (modulo the operation's
/// width) takes for `x` in `[lo, hi]`: the kernel's bounds hold every `x`
/// it cannot rule out, so they hold these sums too.
fn add_image(lo: u32, hi: u32, c: u64, wide: bool) -> Option<(u32, u32)> {
    let m: u128 = if wide { 1 << 64 } else { 1 << 32 };
    let c = u128::from(c) % m;
    let (a, b) = (u128::from(lo) + c, u128::from(hi) + c);
    let cut = |p: u128, q: u128| -> Option<(u32, u32)> {
        let q = q.min(u128::from(u32::MAX));
        (p <= q).then_some((p as u32, q as u32))
    };
    let below = if a < m { cut(a, b.min(m - 1)) } else { None };
    let wrapped = if b >= m {
        cut(a.max(m) - m, b - m)
    } else {
        None
    };
    // The two pieces may meet around the wrap into every value.
    if let (Some((bl, bh)), Some((wl, wh))) = (below, wrapped)
        && bh == u32::MAX
        && wl == 0
        && u64::from(wh) + 1 >= u64::from(bl)
    {
        return Some((0, u32::MAX));
    }
    [below, wrapped]
        .into_iter()
        .flatten()
        .max_by_key(|&(p, q)| q - p)
}

/// Bounds of `x op y` for `x` in `a` and `y` in `b`, as the kernel's range
/// tracking finds them (or tighter); `None` if unbounded.
pub(super) fn hull_arith(
    op: AluOp,
    wide: bool,
    a: (u64, u64),
    b: (u64, u64),
) -> Option<(u64, u64)> {
    let max: u128 = if wide {
        u128::from(u64::MAX)
    } else {
        u128::from(U32)
    };
    // A 32-bit operation sees the low halves.
    let low = |(l, h): (u64, u64)| {
        if wide || (l >> 32 == h >> 32) {
            (
                u128::from(if wide { l } else { l & U32 }),
                u128::from(if wide { h } else { h & U32 }),
            )
        } else {
            (0, u128::from(U32))
        }
    };
    let ((al, ah), (bl, bh)) = (low(a), low(b));
    let bits = if wide { 64 } else { 32 };
    let ones = |x: u128| {
        if x == 0 {
            0
        } else {
            (1u128 << (128 - x.leading_zeros())) - 1
        }
    };
    let r = match op {
        AluOp::Add => (al + bl, ah + bh),
        AluOp::Sub if al >= bh => (al - bh, ah - bl),
        AluOp::Mul => (al * bl, ah * bh),
        AluOp::And => (0, ah.min(bh)),
        AluOp::Or => (al.max(bl), ones(ah.max(bh))),
        AluOp::Xor => (0, ones(ah.max(bh))),
        AluOp::Lsh if bl == bh && bh < bits => (al << bh, ah << bh),
        AluOp::Rsh if bh < bits => (al >> bh, ah >> bl),
        // x / y <= x, and x / 0 is 0; x % y <= x, and x % 0 is x.
        AluOp::Div | AluOp::Mod => (0, ah),
        _ => return None,
    };
    (r.1 <= max).then_some((r.0 as u64, r.1 as u64))
}

/// "socket filters", "`xdp` programs".
fn type_phrase(t: &Table) -> String {
    match t.prog_type {
        ProgType::SocketFilter => "socket filters".to_owned(),
        _ => format!("`{}` programs", t.name()),
    }
}

/// The attribute that chose the type, as the user wrote it (or not).
fn type_attr(t: &Table) -> String {
    match t.prog_type {
        ProgType::SocketFilter => "`#![prog_type = socket_filter]`, the default".to_owned(),
        _ => format!("`#![prog_type = {}]`", t.name()),
    }
}

/// "`a`, `b` and `c`".
fn list_or(items: &[String], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {and} {last}", init.join(", ")),
    }
}

/// What a call of helper `name` at `slot` returns, if it is a lookup: a
/// pointer into a value of the map in r1, or null.
/// "load"/"reads" or "store"/"writes".
fn access_words(write: bool) -> (&'static str, &'static str) {
    if write {
        ("store", "writes")
    } else {
        ("load", "reads")
    }
}

/// When the helper that returned the maybe-null `v` returns null.
fn null_when(v: Val) -> &'static str {
    match v.k {
        K::Value { map: SOCKET, .. } => "when no socket matches",
        K::Value {
            map: RINGBUF_RECORD,
            ..
        } => "when the ring buffer has no room",
        _ => "when the key is absent",
    }
}

/// What a map lookup returns: a value pointer that may be null, unless
/// the kernel may know it is not (`can_elide_value_nullness`): a lookup in
/// an array with a constant key below `max_entries`, or in a map this
/// analysis does not know.
fn lookup_result(pr: &Proto, st: &State, slot: u32, maps: &[MapSpec]) -> Option<Val> {
    match pr.ret {
        Ret::Socket => return Some(Val::lookup(SOCKET, slot)),
        Ret::Record => return Some(Val::lookup(RINGBUF_RECORD, slot)),
        Ret::Lookup => {}
        _ => return None,
    }
    // What a lookup gives depends on the map's type: not judged for a map
    // not declared here.
    let map = st.regs[1].map_index()?;
    let m = maps.get(map)?;
    let elided = match m.map_type {
        MapType::Array | MapType::PercpuArray if pr.name == "map_lookup_elem" => {
            // Null only for a key known to be out of range.
            let key = st.regs[2]
                .stack_off()
                .and_then(|at| st.fill(at, 4))
                .and_then(Val::konst_of);
            key.is_none_or(|k| k < u64::from(m.max_entries))
        }
        MapType::Array
        | MapType::PercpuArray
        | MapType::Hash
        | MapType::PercpuHash
        | MapType::LruHash
        | MapType::LruPercpuHash => false,
        // A socket, referenced: released with `sk_release`.
        MapType::Sockmap | MapType::Sockhash => return Some(Val::lookup(SOCKET, slot)),
        // An inner map (map-in-map) and the rest: not judged.
        _ => return None,
    };
    let mut v = Val::lookup(u32::try_from(map).ok()?, slot);
    if let K::Value { nonnull, .. } = &mut v.k {
        *nonnull = elided;
    }
    Some(v)
}
