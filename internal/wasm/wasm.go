// Package wasm runs strategies compiled to WebAssembly (the TradAI wasm
// ABI, docs/wasm-abi.md; the Go side is sdk/wasm) on wazero, in-process and
// sandboxed: a module sees only its own linear memory, capped by
// Options.MemoryLimit, and the WASI system interface without a file system,
// sockets, environment or arguments; its clocks and random numbers are
// wazero's deterministic fakes; what it writes on standard output and error
// is kept bounded for error messages. Every call into a module has a
// deadline (Options.CallTimeout) after which the module is stopped.
//
// A [Runtime] compiles each module once (keyed by its bytes, so opening a
// compiled one again costs a map lookup, not a hash; the machine code
// optionally cached in a folder across processes),
// keeps up to Options.MaxModules compiled, closing the least recently
// opened one that no strategy or instance uses when it has more, and
// opens strategies on them: each strategy instantiates the module on
// demand, up to Options.MaxInstances at once for concurrent Populate calls,
// and throws an instance away after any failure that is not the
// strategy's own error.
package wasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/tradai/tradai/sdk"
	abi "github.com/tradai/tradai/sdk/wasm"
)

// Defaults of Options.
const (
	DefaultMemoryLimit = 1 << 30
	DefaultCallTimeout = 2 * time.Minute
	DefaultOutputLimit = 4 << 10
	DefaultMaxModules  = 32
	pageSize           = 64 << 10
	maxPages           = 1 << 16
)

// Options configures a Runtime.
type Options struct {
	// MemoryLimit caps each instance's linear memory in bytes, rounded
	// down to 64 KiB pages (default 1 GiB, at most 4 GiB).
	MemoryLimit int64
	// CallTimeout bounds one call into a module — instantiation, reading
	// the spec, one Populate — in wall-clock time; the module is stopped
	// when it is over (default 2 min).
	CallTimeout time.Duration
	// CacheDir keeps compiled machine code across processes ("" = in
	// memory only). It must be private to TradAI.
	CacheDir string
	// MaxInstances is how many instances of one opened strategy may run
	// at once, one per concurrent Populate (default GOMAXPROCS).
	MaxInstances int
	// OutputLimit is how many bytes of a call's standard output and error
	// are kept for its error message (default 4 KiB); the rest is
	// dropped.
	OutputLimit int
	// MaxModules is how many compiled modules the runtime keeps (default
	// 32). Beyond it, the least recently opened module that no open
	// strategy or live instance uses is closed (opening it again compiles
	// it again, or reads it from CacheDir); a module in use is never
	// closed, so while more are in use, more stay compiled.
	MaxModules int
}

func (o Options) withDefaults() (Options, error) {
	if o.MemoryLimit == 0 {
		o.MemoryLimit = DefaultMemoryLimit
	}
	if o.MemoryLimit < pageSize || o.MemoryLimit > maxPages*pageSize {
		return o, fmt.Errorf("wasm memory limit %d bytes is outside 64 KiB..4 GiB", o.MemoryLimit)
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.MaxInstances <= 0 {
		o.MaxInstances = runtime.GOMAXPROCS(0)
	}
	if o.OutputLimit <= 0 {
		o.OutputLimit = DefaultOutputLimit
	}
	if o.MaxModules <= 0 {
		o.MaxModules = DefaultMaxModules
	}
	return o, nil
}

// Runtime compiles and runs wasm strategies. It is safe for concurrent
// use; one per process is enough.
type Runtime struct {
	opts  Options
	rt    wazero.Runtime
	cache wazero.CompilationCache

	mu      sync.Mutex
	modules map[string]*module // the compiled (and compiling) modules, by their bytes
	tick    uint64             // counts loads, for least-recently-used order
}

// module is one compiled module and the spec it declared.
type module struct {
	code     string        // its bytes: its key in Runtime.modules
	ready    chan struct{} // closed when compiled and err or spec set
	err      error
	id       string // the first 8 bytes of the SHA-256, in hex
	compiled wazero.CompiledModule
	spec     sdk.Spec

	// Guarded by Runtime.mu.
	refs   int    // its users: loads in progress, open strategies, live instances
	used   uint64 // Runtime.tick at its last load
	closed bool   // evicted: compiled is closed, no new instance
}

// New starts a runtime: wazero's compiler where it has one (amd64,
// arm64), its interpreter elsewhere, and the WASI host functions.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	cache := wazero.NewCompilationCache()
	if opts.CacheDir != "" {
		if cache, err = wazero.NewCompilationCacheWithDir(opts.CacheDir); err != nil {
			return nil, fmt.Errorf("wasm compilation cache in %s: %w", opts.CacheDir, err)
		}
	}
	cfg := wazero.NewRuntimeConfig().
		WithCompilationCache(cache).
		WithMemoryLimitPages(uint32(opts.MemoryLimit / pageSize))
	rt := wazero.NewRuntimeWithConfig(ctx, cfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("wasm runtime: WASI: %w", err)
	}
	if err := instantiateYield(ctx, rt); err != nil {
		_ = rt.Close(ctx)
		_ = cache.Close(ctx)
		return nil, fmt.Errorf("wasm runtime: the yield function: %w", err)
	}
	return &Runtime{opts: opts, rt: rt, cache: cache, modules: map[string]*module{}}, nil
}

// Close stops every instance and frees the compiled modules.
func (r *Runtime) Close(ctx context.Context) error {
	err := r.rt.Close(ctx)
	return errors.Join(err, r.cache.Close(ctx))
}

// ReadSpec compiles code (once) and returns the spec the module declares,
// validated.
func (r *Runtime) ReadSpec(ctx context.Context, code []byte) (sdk.Spec, error) {
	m, inst, err := r.load(ctx, code)
	if err != nil {
		return sdk.Spec{}, err
	}
	if inst != nil {
		inst.close(ctx)
	}
	r.release(m)
	return m.spec, nil
}

// Open compiles code (once) and returns it as a strategy. close frees the
// strategy's instances; the compiled module stays in the runtime, which
// may close it once no strategy uses it (Options.MaxModules).
func (r *Runtime) Open(ctx context.Context, code []byte) (s sdk.Strategy, close func() error, err error) {
	m, inst, err := r.load(ctx, code)
	if err != nil {
		return nil, nil, err
	}
	st := newStrategy(r, m)
	if inst != nil {
		st.slots <- struct{}{}
		st.free <- inst
	}
	return st, st.Close, nil
}

// load returns the compiled module of code, compiling it and reading its
// spec on first use; the instance that read the spec comes back with it
// then (nil otherwise). The caller holds a reference to the module, given
// back with release, unless there is an error.
func (r *Runtime) load(ctx context.Context, code []byte) (*module, *instance, error) {
	r.mu.Lock()
	m, ok := r.modules[string(code)]
	if !ok {
		// New: hashed (for its id) and copied outside the lock.
		r.mu.Unlock()
		sum := sha256.Sum256(code)
		fresh := &module{code: string(code), ready: make(chan struct{}), id: hex.EncodeToString(sum[:8])}
		r.mu.Lock()
		if m, ok = r.modules[fresh.code]; !ok {
			m = fresh
			r.modules[m.code] = m
		}
	}
	r.tick++
	m.used = r.tick
	m.refs++
	r.mu.Unlock()
	if ok {
		select {
		case <-m.ready:
			if m.err != nil {
				r.release(m)
				return nil, nil, m.err
			}
			return m, nil, nil
		case <-ctx.Done():
			r.release(m)
			return nil, nil, fmt.Errorf("wasm module %s: %w", m.id, ctx.Err())
		}
	}
	inst, err := r.compile(ctx, m, code)
	if err != nil {
		m.err = err
		r.mu.Lock()
		delete(r.modules, m.code) // a later attempt may succeed (e.g. after a cancellation)
		m.closed = true
		r.mu.Unlock()
		close(m.ready)
		r.release(m)
		return nil, nil, err
	}
	close(m.ready)
	r.release(nil) // one more module: over MaxModules, the least recently used goes
	return m, inst, nil
}

// release gives back a reference to m (nil: none) and closes the modules
// over Options.MaxModules that nobody uses, least recently loaded first.
func (r *Runtime) release(m *module) {
	var evicted []*module
	r.mu.Lock()
	if m != nil {
		m.refs--
	}
	for len(r.modules) > r.opts.MaxModules {
		var lru *module
		for _, c := range r.modules {
			if c.refs == 0 && (lru == nil || c.used < lru.used) {
				lru = c
			}
		}
		if lru == nil {
			break // every module is in use
		}
		delete(r.modules, lru.code)
		lru.closed = true
		evicted = append(evicted, lru)
	}
	r.mu.Unlock()
	for _, e := range evicted {
		_ = e.compiled.Close(context.Background())
	}
}

// compile compiles code into m, checks its imports and exports and reads
// its spec with a first instance, which it returns.
func (r *Runtime) compile(ctx context.Context, m *module, code []byte) (*instance, error) {
	code, err := instrument(code)
	if err != nil {
		return nil, fmt.Errorf("wasm module %s is not WebAssembly that TradAI can run: %w", m.id, err)
	}
	cm, err := r.rt.CompileModule(ctx, code)
	if err != nil {
		return nil, fmt.Errorf("wasm module %s is not WebAssembly that TradAI can run: %w", m.id, err)
	}
	if err := checkInterface(cm); err != nil {
		_ = cm.Close(ctx)
		return nil, fmt.Errorf("wasm module %s is not a TradAI strategy: %w", m.id, err)
	}
	m.compiled = cm
	label := "wasm module " + m.id
	inst, err := r.instantiate(ctx, m, label)
	if err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	spec, err := inst.readSpec(ctx)
	if err != nil {
		inst.close(ctx)
		_ = cm.Close(ctx)
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	m.spec = spec
	return inst, nil
}

// wantExports are the functions the ABI requires, with their signatures.
var wantExports = []struct {
	name    string
	params  []api.ValueType
	results []api.ValueType
}{
	{abi.ExportABIVersion, nil, []api.ValueType{api.ValueTypeI32}},
	{abi.ExportSpec, nil, []api.ValueType{api.ValueTypeI64}},
	{abi.ExportPrepare, []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, []api.ValueType{api.ValueTypeI32}},
	{abi.ExportPopulate, nil, []api.ValueType{api.ValueTypeI32}},
	{abi.ExportTags, nil, []api.ValueType{api.ValueTypeI64}},
	{abi.ExportError, nil, []api.ValueType{api.ValueTypeI64}},
}

// checkInterface checks that a compiled module imports nothing but WASI
// functions (and the yield function instrument adds) and exports the ABI:
// its memory and functions.
func checkInterface(cm wazero.CompiledModule) error {
	for _, f := range cm.ImportedFunctions() {
		if mod, name, _ := f.Import(); mod != wasi_snapshot_preview1.ModuleName && (mod != yieldModule || name != yieldName) {
			return fmt.Errorf("it imports %s.%s; a strategy may import only %s functions", mod, name, wasi_snapshot_preview1.ModuleName)
		}
	}
	if len(cm.ImportedMemories()) > 0 {
		return errors.New("it imports its memory; a strategy must define and export its own")
	}
	if _, ok := cm.ExportedMemories()["memory"]; !ok {
		return errors.New(`it exports no memory named "memory"`)
	}
	fns := cm.ExportedFunctions()
	_, start := fns["_start"]
	_, initialize := fns["_initialize"]
	if start && !initialize {
		return errors.New("it is a WASI command (it exports _start), not a reactor; build a Go strategy with -buildmode=c-shared and sdk/wasm")
	}
	for _, w := range wantExports {
		f, ok := fns[w.name]
		if !ok {
			return fmt.Errorf("it does not export the function %s", w.name)
		}
		if !sameTypes(f.ParamTypes(), w.params) || !sameTypes(f.ResultTypes(), w.results) {
			return fmt.Errorf("its export %s has the signature %s, not %s", w.name, signature(f.ParamTypes(), f.ResultTypes()), signature(w.params, w.results))
		}
	}
	return nil
}

func sameTypes(a, b []api.ValueType) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func signature(params, results []api.ValueType) string {
	s := "("
	for i, p := range params {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(p)
	}
	s += ") -> ("
	for i, p := range results {
		if i > 0 {
			s += ", "
		}
		s += api.ValueTypeName(p)
	}
	return s + ")"
}

// readSpec checks the module's ABI version and decodes its spec.
func (in *instance) readSpec(ctx context.Context) (sdk.Spec, error) {
	res, err := in.call(ctx, in.abiVersion)
	if err != nil {
		return sdk.Spec{}, fmt.Errorf("%s: %w", abi.ExportABIVersion, err)
	}
	if v := int32(res); v != abi.ABIVersion {
		return sdk.Spec{}, fmt.Errorf("it speaks wasm ABI version %d; this TradAI speaks version %d", v, abi.ABIVersion)
	}
	res, err = in.call(ctx, in.spec)
	if err != nil {
		return sdk.Spec{}, fmt.Errorf("%s: %w", abi.ExportSpec, err)
	}
	if res == 0 {
		return sdk.Spec{}, fmt.Errorf("it declared no spec: %s", in.message(ctx))
	}
	ptr, n := abi.Unpack(res)
	if n > maxSpecBytes {
		return sdk.Spec{}, fmt.Errorf("its spec is %d bytes, more than the %d allowed", n, maxSpecBytes)
	}
	b, ok := in.mem.Read(ptr, n)
	if !ok {
		return sdk.Spec{}, fmt.Errorf("its spec (%d bytes at %d) lies outside its %d-byte memory", n, ptr, in.mem.Size())
	}
	return DecodeSpec(b)
}

// DecodeSpec decodes and validates a module's spec JSON: strictly (an
// unknown field is an error), one JSON value, a valid spec that does not
// declare file signals (a module gets candle columns only).
func DecodeSpec(b []byte) (sdk.Spec, error) {
	var spec sdk.Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return sdk.Spec{}, fmt.Errorf("its spec is not valid spec JSON: %w", err)
	}
	if dec.More() {
		return sdk.Spec{}, errors.New("its spec has data after the JSON value")
	}
	if err := spec.Validate(); err != nil {
		return sdk.Spec{}, fmt.Errorf("its spec is invalid: %w", err)
	}
	if spec.FileSignals {
		return sdk.Spec{}, fmt.Errorf("strategy %s declares file_signals, which only built-in strategies can use (a wasm strategy gets candle columns only)", spec.Name)
	}
	return spec, nil
}

const maxSpecBytes = 1 << 20
